"""The audit page, its CSV export and its live feed: who sees which entries, the filters,
and the attempts access refused."""

import asyncio
import csv
import io
import json
import threading
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from django.utils import timezone

from containers_app import audit, jobs
from containers_app.models import AuditEntry, Membership, Team
from containers_app.streams import audit_feed
from tests.conftest import HOME_TEAM, client_of, unique
from tests.engine.markup import data_ids, page, row, shows
from tests.engine.sockets import connected, refused

STOPPABLE = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]


@pytest.fixture(autouse=True)
def _no_subscribers():
    yield
    audit_feed.reset()


def entry(**fields) -> AuditEntry:
    """An audit entry written the one way entries are written (and published)."""
    values = {
        "user": None,
        "username": "someone",
        "engine": "unix:///run/test.sock",
        "action": "stop",
        "target": unique("c"),
        "command": "docker stop x",
        "succeeded": True,
    }
    values.update(fields)
    return audit.write(**values)


def aged(found: AuditEntry, **delta) -> AuditEntry:
    """The entry made as old as `delta` says (created is set on writing)."""
    AuditEntry.objects.filter(pk=found.pk).update(created=timezone.now() - timedelta(**delta))
    found.refresh_from_db()
    return found


def team_admin(django_user_model, *slugs: str, role: str = Membership.ADMIN):
    user = django_user_model.objects.create_user(username=unique("lead"))
    for slug in slugs:
        team, _ = Team.objects.get_or_create(slug=slug, defaults={"name": slug})
        Membership.objects.create(user=user, team=team, role=role)
    return user


def ids(response) -> list[int]:
    return [int(i) for i in data_ids(response)]


# --- the page ------------------------------------------------------------------------------


def test_a_superuser_sees_every_entry_newest_first_with_each_column(admin_client):
    old = aged(entry(username="alice", action="start", target="web-1"), hours=2)
    failed = aged(
        entry(
            username="bob",
            team="ops",
            action="remove",
            target="db-1",
            command="docker rm db-1",
            succeeded=False,
            message="container is running: stop it first",
        ),
        hours=1,
    )
    refusal = entry(
        username="carol",
        action="containers:action POST",
        target="",
        command="",
        succeeded=False,
        denied=True,
        message="Your account may look but not change anything.",
    )

    response = admin_client.get("/audit/")

    assert response.status_code == 200
    assert ids(response) == [refusal.pk, failed.pk, old.pk]
    failed_row = row(response, str(failed.pk))
    for text in ("bob", "ops", "unix:///run/test.sock", "db-1", "remove", "docker rm db-1"):
        assert f">{text}<" in failed_row, text
    assert "failed" in failed_row
    assert "container is running: stop it first" in failed_row
    assert f'datetime="{timezone.localtime(failed.created).isoformat()}"' in failed_row
    assert ">succeeded<" in row(response, str(old.pk))
    assert ">denied<" in row(response, str(refusal.pk))
    assert 'href="/audit/export.csv"' in page(response)
    assert 'href="/audit/"' in page(response)  # the nav link


@pytest.mark.parametrize(
    ("query", "wanted"),
    [
        ("user=alice", {"alice"}),
        ("team=ops", {"bob"}),
        ("action=remove", {"bob"}),
        ("object=WEB", {"alice", "dave"}),
        ("result=ok", {"alice", "dave"}),
        ("result=failed", {"bob"}),
        ("result=denied", {"carol"}),
        ("q=rm+db", {"bob"}),
        ("q=not+change", {"carol"}),
        ("user=alice&result=failed", set()),
    ],
)
def test_each_filter_narrows_the_entries(admin_client, query, wanted):
    entry(username="alice", action="start", target="web-1", command="docker start web-1")
    entry(username="dave", action="stop", target="backend-web", command="docker stop x")
    entry(
        username="bob",
        team="ops",
        action="remove",
        target="db-1",
        object_id="0f" * 32,
        command="docker rm db-1",
        succeeded=False,
        message="no such container",
    )
    entry(
        username="carol",
        action="containers:action POST",
        target="",
        command="",
        succeeded=False,
        denied=True,
        message="Your account may look but not change anything.",
    )

    response = admin_client.get(f"/audit/?{query}")

    assert response.status_code == 200
    shown = {e.username for e in AuditEntry.objects.filter(pk__in=ids(response))}
    assert shown == wanted


def test_the_time_filters_take_dates_and_date_times(admin_client):
    now = timezone.localtime()
    yesterday = aged(entry(username="yesterday"), days=1)
    hour_ago = aged(entry(username="hour-ago"), hours=1)
    recent = entry(username="recent")
    today = now.date().isoformat()
    minutes_ago = (now - timedelta(minutes=30)).replace(tzinfo=None).isoformat(timespec="minutes")

    def shown(query: str) -> set[int]:
        response = admin_client.get("/audit/", query)
        assert response.status_code == 200, page(response)
        return set(ids(response))

    # A day as `until` includes all of it; a date-time without an offset is local time.
    # (Just after midnight the entry of an hour ago is of yesterday too.)
    day_before = (now - timedelta(days=1)).date()
    of_that_day_or_before = {
        made.pk
        for made in (yesterday, hour_ago, recent)
        if timezone.localdate(made.created) <= day_before
    }
    assert yesterday.pk in of_that_day_or_before and recent.pk not in of_that_day_or_before
    assert shown({"until": day_before.isoformat()}) == of_that_day_or_before
    assert shown({"since": minutes_ago}) == {recent.pk}
    assert shown({"until": minutes_ago}) == {yesterday.pk, hour_ago.pk}
    assert shown({"since": (now - timedelta(days=2)).date().isoformat(), "until": today}) == {
        yesterday.pk,
        hour_ago.pk,
        recent.pk,
    }
    in_utc = (timezone.now() - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    assert shown({"since": in_utc}) == {recent.pk}


def test_it_pages_by_50_and_page_links_keep_the_filters(admin_client):
    made = [entry(username="pager", target=f"c-{n}").pk for n in range(120)]
    entry(username="someone-else")
    newest_first = made[::-1]

    first = admin_client.get("/audit/?user=pager")
    third = admin_client.get("/audit/?user=pager&page=3")
    beyond = admin_client.get("/audit/?user=pager&page=9")

    assert ids(first) == newest_first[:50]
    assert ids(third) == newest_first[100:]
    assert ids(beyond) == newest_first[100:]  # past the end: the last page
    assert "Page 1 of 3" in page(first)
    assert 'href="?user=pager&amp;page=2"' in page(first)
    assert 'href="/audit/export.csv?user=pager"' in page(third)
    assert 'href="?user=pager&amp;page=2"' in page(third)
    # Only the first page is kept current live.
    assert "data-audit-live" in page(first)
    assert "data-audit-live" not in page(third)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("since=yesterday", "Write a time as 2024-05-01"),
        ("until=2024-02-30", "Write a time as 2024-05-01"),
        ("since=0001-01-01", "between the years 1900 and 9998"),
        ("since=2024-05-02&until=2024-05-01", "The start of the time range is after its end."),
        ("result=maybe", "Select a valid choice."),
        ("team=no+spaces", "is not a team slug"),
        ("page=0", "greater than or equal to 1"),
        ("page=x", "Enter a whole number."),
        ("after=99999999999999999999999", "less than or equal to"),
        ("q=" + "x" * 201, "at most 200 characters"),
        ("user=a%00b", "Null characters are not allowed."),
    ],
)
def test_a_bad_filter_is_a_400_with_the_forms_message(admin_client, query, message):
    entry(username="hidden")

    for path in ("/audit/", "/audit/export.csv"):
        response = admin_client.get(f"{path}?{query}")

        assert response.status_code == 400, path
        assert shows(response, message), page(response)
        assert ids(response) == []


def test_a_team_admin_sees_only_their_teams_entries(django_user_model):
    lead = team_admin(django_user_model, "web", "api")
    Membership.objects.create(
        user=lead,
        team=Team.objects.create(slug="db", name="db"),
        role=Membership.OPERATOR,
    )
    web = entry(team="web")
    api = entry(team="api")
    entry(team="db")  # they are only an operator there
    entry(team="")  # no team: a denied attempt, say
    client = client_of(lead)

    response = client.get("/audit/")
    narrowed = client.get("/audit/?team=db")

    assert response.status_code == 200
    assert ids(response) == [api.pk, web.pk]
    assert ids(narrowed) == []
    assert 'href="/audit/"' in page(response)  # the nav link


@pytest.mark.parametrize("who", ["viewer", "staff", "operator"])
def test_anyone_else_gets_a_403_saying_who_may(who, viewer_client, django_user_model):
    entry(team="web")
    staff_of_no_team = django_user_model.objects.create_user(username=unique("s"), is_staff=True)
    client = {
        "viewer": viewer_client,
        "staff": client_of(staff_of_no_team),
        "operator": client_of(team_admin(django_user_model, "web", role=Membership.OPERATOR)),
    }[who]

    for path in ("/audit/", "/audit/export.csv", "/audit/?since=nonsense"):
        response = client.get(path)

        assert response.status_code == 403, path
        assert shows(response, "Only superusers and team admins may read the audit trail.")
    assert 'href="/audit/"' not in page(client.get("/containers/"))


def test_the_page_is_get_only(admin_client):
    assert admin_client.post("/audit/").status_code == 405
    assert admin_client.post("/audit/export.csv").status_code == 405


# --- CSV -----------------------------------------------------------------------------------


def download(client, path: str):
    response = client.get(path)
    assert response.status_code == 200, page(response)
    assert response.is_async  # streamed block by block, see views/audit.py AuditCsv

    async def body() -> bytes:
        return b"".join([part async for part in response.streaming_content])

    return response, list(csv.reader(io.StringIO(asyncio.run(body()).decode())))


# Its blocks are read on the database threads of the websocket consumers, which see only what
# is committed.
@pytest.mark.django_db(transaction=True)
def test_the_csv_has_the_header_and_each_entry_newest_first(admin_client):
    first = entry(
        username="alice",
        team="ops",
        action="stop",
        target="web-1",
        command="docker stop web-1",
    )
    second = entry(
        username="bob",
        action="remove",
        target="db-1",
        object_id="0f" * 32,
        command="docker rm db-1",
        succeeded=False,
        message="no such container",
    )

    response, lines = download(admin_client, "/audit/export.csv")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="berth-audit-')
    assert lines[0] == [
        *("time", "user", "team", "engine", "action", "object", "object id", "command"),
        *("result", "message"),
    ]
    assert lines[1] == [
        timezone.localtime(second.created).isoformat(),
        *("bob", "", "unix:///run/test.sock", "remove", "db-1", "0f" * 32, "docker rm db-1"),
        "failed",
        "no such container",
    ]
    assert lines[2] == [
        timezone.localtime(first.created).isoformat(),
        *("alice", "ops", "unix:///run/test.sock", "stop", "web-1", "", "docker stop web-1"),
        *("succeeded", ""),
    ]
    assert len(lines) == 3


@pytest.mark.django_db(transaction=True)
def test_the_csv_takes_the_pages_filters_and_visibility(django_user_model, settings):
    from containers_app.views import audit as audit_views

    lead = team_admin(django_user_model, "web")
    for n in range(7):
        entry(team="web", username="lead-sees", target=f"w-{n}")
    entry(team="web", username="other-user")
    entry(team="db", username="lead-sees")
    entry(username="lead-sees", denied=True, succeeded=False)
    # Blocks of 3: the export goes on past the first block, in order.
    audit_views.EXPORT_BLOCK, old_block = 3, audit_views.EXPORT_BLOCK
    try:
        _, lines = download(client_of(lead), "/audit/export.csv?user=lead-sees")
    finally:
        audit_views.EXPORT_BLOCK = old_block

    assert [line[5] for line in lines[1:]] == [f"w-{n}" for n in reversed(range(7))]


@pytest.mark.django_db(transaction=True)
def test_a_cell_a_spreadsheet_would_run_is_defused(admin_client):
    entry(
        username="=cmd|' /C calc'!A0",
        target="+web",
        command="-docker",
        message="@SUM(1)",
        action="stop",
    )

    _, lines = download(admin_client, "/audit/export.csv")

    assert lines[1][1] == "'=cmd|' /C calc'!A0"
    assert lines[1][5] == "'+web"
    assert lines[1][7] == "'-docker"
    assert lines[1][9] == "'@SUM(1)"
    assert lines[1][4] == "stop"


# --- denied attempts -----------------------------------------------------------------------


def test_a_team_viewers_post_to_a_change_is_denied_and_on_the_team_s_trail(
    viewer_client, viewer_user, make, docker_api
):
    container = make.container(command=STOPPABLE)
    name = container["Name"].lstrip("/")

    response = viewer_client.post(f"/containers/{name}/stop/")

    assert response.status_code == 403
    assert docker_api.inspect_container(container["Id"])["State"]["Running"]
    found = AuditEntry.objects.get()
    assert found.denied and not found.succeeded
    assert found.user == viewer_user and found.username == viewer_user.username
    # The viewer sees the container: the entry may name it, and its team's admins read it.
    assert (found.action, found.target, found.team) == ("stop", name, HOME_TEAM)
    assert found.command == f"docker stop {name}"
    assert found.message == "Only the team's operators and admins may do this."


def test_a_post_on_another_team_s_container_writes_one_denied_entry_naming_no_object(
    other_admin_client, other_admin_user, make, docker_api
):
    container = make.container(command=STOPPABLE)
    name = container["Name"].lstrip("/")

    response = other_admin_client.post(f"/containers/{name}/stop/")

    assert response.status_code == 404
    assert docker_api.inspect_container(container["Id"])["State"]["Running"]
    found = AuditEntry.objects.get()
    assert found.denied and not found.succeeded
    assert found.user == other_admin_user
    assert found.action == "containers:action POST"
    assert found.target == found.command == found.team == ""
    for value in (found.action, found.target, found.command, found.message, found.engine):
        assert name not in value and container["Id"][:12] not in value
        assert "stop" not in value.replace("containers:action", "")


def test_someone_signed_out_is_sent_to_sign_in_and_not_recorded(db, make):
    container = make.container()

    response = Client().post(f"/containers/{container['Id']}/stop/")

    assert response.status_code == 302
    assert not AuditEntry.objects.exists()


def test_a_denied_entry_is_shown_to_superusers_only(viewer_client, admin_client, django_user_model):
    viewer_client.get("/containers/run/")
    lead = client_of(team_admin(django_user_model, "web"))

    assert ">denied<" in page(admin_client.get("/audit/?result=denied"))
    assert "containers:run GET" in page(admin_client.get("/audit/?result=denied"))
    assert ids(lead.get("/audit/?result=denied")) == []


def test_a_refused_audit_page_is_itself_recorded(viewer_client, viewer_user):
    viewer_client.get("/audit/?user=someone")

    found = AuditEntry.objects.get()
    assert (found.user, found.action, found.denied) == (viewer_user, "audit:list GET", True)


@pytest.mark.django_db(transaction=True)
async def test_a_refused_websocket_of_a_signed_in_user_is_recorded(viewer_user, make):
    container = await sync_to_async(make.container)()

    code = await refused(f"/ws/containers/{container['Id']}/exec/?ticket=x", viewer_user)

    assert code == 4403
    found = await AuditEntry.objects.aget()
    assert found.denied and found.user_id == viewer_user.pk
    assert found.action == "websocket /ws/containers/{ref}/exec/"
    assert container["Id"] not in found.action + found.target + found.message


# --- live ----------------------------------------------------------------------------------


async def next_rows(communicator, *, timeout: float = 15) -> str:
    """The next rows pushed (skipping nothing else: a notice fails the test)."""
    message = json.loads(await communicator.receive_from(timeout=timeout))
    assert "rows" in message, message
    return message["rows"]


def written(**fields) -> AuditEntry:
    """An entry written from another thread, as request and job threads write them."""
    found = {}
    thread = threading.Thread(target=lambda: found.setdefault("entry", entry(**fields)))
    thread.start()
    thread.join()
    return found["entry"]


@pytest.mark.django_db(transaction=True)
async def test_a_new_entry_reaches_the_page_live_and_others_do_not(admin_user):
    communicator = await connected("/ws/audit/?user=alice&result=failed", admin_user)
    await communicator.receive_nothing(timeout=0.2)  # nothing to catch up: no `after`

    await sync_to_async(written)(username="alice", target="not-failed")
    await sync_to_async(written)(username="bob", succeeded=False, target="not-alice")
    wanted = await sync_to_async(written)(
        username="alice", succeeded=False, target="the-one", message="no such <container>"
    )

    rows = await next_rows(communicator)
    # The two written before it were left out: it is the first and only row sent.
    assert f'id="audit-{wanted.pk}"' in rows
    assert rows.count("<tr ") == 1
    assert "the-one" in rows and "no such &lt;container&gt;" in rows
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_team_admin_gets_only_their_teams_entries_live(django_user_model):
    lead = await sync_to_async(team_admin)(django_user_model, "web")
    communicator = await connected("/ws/audit/", lead)

    await sync_to_async(written)(team="db", target="db-thing")
    await sync_to_async(written)(team="", target="no-team", denied=True, succeeded=False)
    wanted = await sync_to_async(written)(team="web", target="web-thing")

    rows = await next_rows(communicator)
    assert f'id="audit-{wanted.pk}"' in rows and rows.count("<tr ") == 1
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_connecting_catches_up_from_the_pages_newest_entry(admin_user):
    shown = await sync_to_async(entry)(target="on-the-page")
    missed = [await sync_to_async(entry)(target=f"missed-{n}") for n in range(2)]

    communicator = await connected(f"/ws/audit/?after={shown.pk}", admin_user)

    rows = await next_rows(communicator)
    assert rows.index(f'id="audit-{missed[1].pk}"') < rows.index(f'id="audit-{missed[0].pk}"')
    assert "on-the-page" not in rows
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_real_action_reaches_the_page_live(admin_user, staff_user, make):
    container = await sync_to_async(make.container)(command=STOPPABLE)
    name = container["Name"].lstrip("/")
    communicator = await connected(f"/ws/audit/?object={name}", admin_user)

    staff = await sync_to_async(client_of)(staff_user)
    # From a thread of its own, as a request's view runs.
    response = await sync_to_async(staff.post, thread_sensitive=False)(f"/containers/{name}/stop/")

    assert response.status_code == 302
    rows = await next_rows(communicator)
    assert f"docker stop {name}" in rows and ">succeeded<" in rows
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_jobs_end_reaches_the_page_live(admin_user, staff_user, engine):
    communicator = await connected("/ws/audit/?action=test", admin_user)

    await sync_to_async(jobs.start)(
        user=staff_user,
        engine=engine,
        kind="test",
        target="a-job",
        command="true",
        work=lambda run: "done",
    )

    rows = await next_rows(communicator)
    assert ">a-job<" in rows and ">succeeded<" in rows
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_terminal_that_ends_redraws_its_row(admin_user, engine):
    communicator = await connected("/ws/audit/?action=exec", admin_user)

    opened = await sync_to_async(audit.terminal_opened)(
        user=admin_user,
        engine=engine,
        container="web",
        command="docker exec -it web sh",
        ticket="t1",
    )
    first = await next_rows(communicator)
    await sync_to_async(audit.terminal_ended)(opened, exit_code=3)
    second = await next_rows(communicator)

    assert f'id="audit-{opened}"' in first and f'id="audit-{opened}"' in second
    assert "exited with code 3" in second
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_user_without_an_audit_scope_or_with_bad_filters_is_refused(
    viewer_user, admin_user
):
    assert await refused("/ws/audit/", viewer_user) == 4403
    assert await refused("/ws/audit/?since=nonsense", admin_user) == 4400
    assert await refused("/ws/audit/?after=-1", admin_user) == 4400


@pytest.mark.django_db(transaction=True)
async def test_a_viewer_who_stops_being_a_team_admin_stops_getting_rows(django_user_model):
    lead = await sync_to_async(team_admin)(django_user_model, "web")
    communicator = await connected("/ws/audit/", lead)

    await sync_to_async(Membership.objects.filter(user=lead).update)(role=Membership.VIEWER)
    await sync_to_async(written)(team="web")

    output = await communicator.receive_output(timeout=15)
    assert output == {"type": "websocket.close", "code": 4403}
