"""The audit page's pieces that need no engine or database: its filter form, the CSV cell
guard, who may read which entries, and the in-process feed of new entries."""

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.http import QueryDict
from django.test import override_settings

from containers_app import access
from containers_app.access import Actor
from containers_app.forms import AuditFilterForm, parse_time
from containers_app.streams import audit_feed
from containers_app.views.audit import csv_cell, csv_lines

# --- the filter form -----------------------------------------------------------------------


def filters(query: str) -> dict:
    form = AuditFilterForm(QueryDict(query))
    assert form.is_valid(), form.errors
    return form.filters()


def errors(query: str) -> list[str]:
    form = AuditFilterForm(QueryDict(query))
    assert not form.is_valid()
    return [e for errs in form.errors.values() for e in errs]


def test_no_filter_is_no_filter():
    assert filters("") == {}
    assert filters("user=&team=&result=&q=&page=") == {}


def test_the_filters_given_are_typed_and_stripped():
    assert filters(
        "user=+alice+&team=web-ops&action=stop&object=db&result=denied&q=rm&after=7"
    ) == {
        "user": "alice",
        "team": "web-ops",
        "action": "stop",
        "object": "db",
        "result": "denied",
        "q": "rm",
        "after": 7,
    }


def test_the_page_is_not_a_filter():
    form = AuditFilterForm(QueryDict("page=3&user=a"))
    assert form.is_valid()
    assert form.filters() == {"user": "a"}
    assert form.cleaned_data["page"] == 3


@override_settings(TIME_ZONE="Europe/Paris")
def test_a_day_runs_from_its_first_to_its_last_moment_in_local_time():
    found = filters("since=2024-05-01&until=2024-05-01")

    assert found["since"] == datetime(2024, 4, 30, 22, 0, tzinfo=UTC)
    assert found["until"] == datetime(2024, 5, 1, 21, 59, 59, 999999, tzinfo=UTC)


@override_settings(TIME_ZONE="Europe/Paris")
def test_a_date_time_is_local_unless_it_names_its_offset():
    assert parse_time("2024-05-01T13:45") == datetime(2024, 5, 1, 11, 45, tzinfo=UTC)
    assert parse_time("2024-05-01 13:45:10") == datetime(2024, 5, 1, 11, 45, 10, tzinfo=UTC)
    assert parse_time("2024-05-01T13:45Z") == datetime(2024, 5, 1, 13, 45, tzinfo=UTC)
    assert parse_time("2024-05-01T13:45+05:00") == datetime(
        2024, 5, 1, 13, 45, tzinfo=timezone(timedelta(hours=5))
    )
    # `end_of_day` is about dates only: a time is the moment it names.
    assert parse_time("2024-05-01T13:45Z", end_of_day=True) == datetime(
        2024, 5, 1, 13, 45, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("since=yesterday", "Write a time as 2024-05-01 or 2024-05-01T13:45"),
        ("since=2024-13-01", "Write a time as 2024-05-01 or 2024-05-01T13:45"),
        ("until=2024-05-01T25:00", "Write a time as 2024-05-01 or 2024-05-01T13:45"),
        ("until=9999-12-31", "Write a time between the years 1900 and 9998."),
        ("since=1000-01-01", "Write a time between the years 1900 and 9998."),
        ("since=2024-05-02&until=2024-05-01T23:00", "The start of the time range is after"),
        ("result=ok2", "Select a valid choice."),
        ("team=../web", "is not a team slug"),
        ("page=-1", "greater than or equal to 1"),
        ("after=1e3", "Enter a whole number."),
        ("after=9223372036854775808", "less than or equal to 9223372036854775807"),
        ("action=" + "a" * 65, "at most 64 characters"),
        ("object=a%00", "Null characters are not allowed."),
    ],
)
def test_a_bad_filter_says_what_is_wrong(query, message):
    assert any(message in e for e in errors(query)), errors(query)


def test_the_same_day_as_since_and_until_is_fine():
    found = filters("since=2024-05-01&until=2024-05-01")
    assert found["since"] < found["until"]


# --- CSV cells -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("docker stop web", "docker stop web"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_a_cell_that_would_be_a_formula_gets_an_apostrophe(value, cell):
    assert csv_cell(value) == cell


def test_csv_lines_quote_and_defuse_every_cell():
    assert csv_lines([("=1", 'say "hi", then go', "plain")]) == (
        b'\'=1,"say ""hi"", then go",plain\r\n'
    )


# --- who reads which entries ---------------------------------------------------------------


def someone(*, superuser: bool = False, active: bool = True, admin_of=(), roles=None) -> Actor:
    return Actor(
        name="someone",
        user_id=1,
        active=active,
        superuser=superuser,
        roles=roles if roles is not None else dict.fromkeys(admin_of, "admin"),
    )


def test_a_superuser_reads_every_entry_whatever_their_teams():
    assert access.audit_scope(someone(superuser=True)) == access.AUDIT_ALL
    assert access.audit_scope(someone(superuser=True, admin_of=["web"])) == access.AUDIT_ALL


def test_a_team_admin_reads_their_teams_entries():
    assert access.audit_scope(someone(admin_of=["web", "api"])) == frozenset({"web", "api"})
    admin_and_viewer = someone(roles={"web": "admin", "api": "viewer"})
    assert access.audit_scope(admin_and_viewer) == frozenset({"web"})


@pytest.mark.parametrize(
    "actor",
    [
        someone(),
        someone(roles={"web": "operator", "api": "viewer"}),
        access.NOBODY,
        someone(active=False, superuser=True),
    ],
)
def test_anyone_else_reads_no_entry(actor):
    assert access.audit_scope(actor) is None


def test_an_inactive_team_admin_reads_no_entry():
    assert access.audit_scope(someone(active=False, admin_of=["web"])) is None


# --- the feed ------------------------------------------------------------------------------


def test_a_published_id_reaches_each_subscriber_from_another_thread():
    async def scenario() -> tuple[list[int], list[int]]:
        one, two = audit_feed.subscribe(), audit_feed.subscribe()
        await asyncio.to_thread(audit_feed.publish, 7)
        await asyncio.to_thread(audit_feed.publish, 8)
        got = (
            await asyncio.wait_for(one.next_batch(), 5),
            await asyncio.wait_for(two.next_batch(), 5),
        )
        audit_feed.unsubscribe(one)
        audit_feed.unsubscribe(two)
        return got

    assert asyncio.run(scenario()) == ([7, 8], [7, 8])
    assert audit_feed.subscriber_count() == 0


def test_a_slow_viewer_loses_its_own_ids_counted_and_no_one_elses():
    async def scenario():
        slow, other = audit_feed.subscribe(), audit_feed.subscribe()
        slow.queue = asyncio.Queue(maxsize=3)
        for entry_id in range(1, 6):
            await asyncio.to_thread(audit_feed.publish, entry_id)
        await asyncio.sleep(0)  # the last call_soon_threadsafe callbacks run
        taken = await asyncio.wait_for(slow.next_batch(), 5)
        others = await asyncio.wait_for(other.next_batch(), 5)
        audit_feed.unsubscribe(slow)
        audit_feed.unsubscribe(other)
        return taken, slow.take_dropped(), slow.take_dropped(), others

    taken, dropped, then, others = asyncio.run(scenario())

    assert taken == [1, 2, 3]
    assert (dropped, then) == (2, 0)
    assert others == [1, 2, 3, 4, 5]


def test_a_subscriber_whose_loop_is_gone_is_forgotten():
    async def subscribed() -> audit_feed.Subscription:
        return audit_feed.subscribe()

    left_behind = asyncio.run(subscribed())  # its loop is closed once run() returns

    audit_feed.publish(1)

    assert audit_feed.subscriber_count() == 0
    assert left_behind.queue.empty()
