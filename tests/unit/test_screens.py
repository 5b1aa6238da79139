"""Wall screens without an engine: tokens and cookies, what a tile says and in which order
tiles come, the screen form, and `manage.py screens`."""

import asyncio
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core import signing
from django.core.management import CommandError, call_command

from containers_app import access, screens, tiles
from containers_app.engine import Engine
from containers_app.engine.containers import ContainerState
from containers_app.forms import ScreenForm
from containers_app.models import AuditEntry, Screen, Team
from containers_app.streams import walls
from containers_app.streams.fanout import Viewer

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
DEFAULT = "local"
# What a screen's author may choose from: `lab` is granted to another team, `hidden` to no
# author (it is not offered).
ENGINES = [
    Engine(slug="local", base_url="unix:///a", every_team=True),
    Engine(slug="prod", base_url="unix:///b", teams=frozenset({"home"})),
    Engine(slug="lab", base_url="unix:///c", teams=frozenset({"away"})),
]


def state(**fields) -> ContainerState:
    values = {
        "id": "a" * 64,
        "name": "web",
        "state": "running",
        "exit_code": 0,
        "health": "",
        "oom_killed": False,
        "restart_count": 0,
        "started_at": NOW - timedelta(hours=3, minutes=5),
        "finished_at": None,
        "labels": {},
    }
    return ContainerState(**(values | fields))


def tile(**fields) -> dict:
    return tiles.tile_of(state(**fields), "local", NOW.timestamp())


# --- tiles ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(0, "0 s"), (59, "59 s"), (60, "1 min"), (3599, "59 min"), (3660, "1 h 01 min"),
     (86400 + 7200, "1 d 2 h")],
)  # fmt: skip
def test_a_duration_reads_short(seconds, words):
    assert tiles.duration(seconds) == words


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({}, ""),
        ({"state": "exited", "exit_code": 0}, ""),
        ({"state": "exited", "exit_code": 137}, "failed"),
        ({"state": "restarting"}, "restarting"),
        ({"health": "unhealthy"}, "unhealthy"),
        ({"health": "starting"}, ""),
        ({"state": "exited", "exit_code": 137, "oom_killed": True}, "OOM-killed"),
        ({"state": "dead"}, "dead"),
        ({"state": "paused"}, ""),
    ],
)
def test_a_problem_is_named_in_words(fields, problem):
    assert tile(**fields)["problem"] == problem


def test_a_tile_says_state_health_uptime_and_restarts():
    running = tile(health="healthy", restart_count=2, labels={access.PROJECT_LABEL: "shop"})
    stopped = tile(state="exited", exit_code=1, finished_at=NOW - timedelta(minutes=5))

    assert running["state_text"] == "running · healthy"
    assert running["uptime"] == "up 3 h 05 min"
    assert running["restarts"] == 2 and running["project"] == "shop"
    assert stopped["state_text"] == "exited (1)"
    assert stopped["uptime"] == "stopped 5 min ago"
    assert tile(state="created", started_at=None)["uptime"] == "never started"


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"state": "exited", "exit_code": 3}, ("exited (3)", "failed")),
        ({"state": "exited", "exit_code": 137, "oom_killed": True}, ("exited (137)", "OOM-killed")),
        ({"health": "unhealthy"}, ("running · unhealthy", "")),
        ({"state": "restarting"}, ("restarting", "")),
    ],
)
def test_a_problem_is_said_once_beside_the_state(fields, words):
    shown = tile(**fields)

    assert (shown["state_text"], shown["problem_text"]) == words


def test_a_tile_carries_nothing_but_what_the_wall_shows():
    shown = tile(labels={access.PROJECT_LABEL: "shop", "secret": "x"})

    assert set(shown) == {
        "kind", "engine", "id", "name", "project", "state", "health", "exit_code", "oom_killed",
        "restarts", "started", "finished", "problem", "state_text", "problem_text", "uptime",
    }  # fmt: skip
    assert "x" not in shown.values()


def test_tiles_are_grouped_by_project_with_problems_first():
    made = [
        tile(id="1", name="a-fine", labels={access.PROJECT_LABEL: "alpha"}),
        tile(id="2", name="b-stopped", state="exited", labels={access.PROJECT_LABEL: "alpha"}),
        tile(id="3", name="z-broken", health="unhealthy", labels={access.PROJECT_LABEL: "alpha"}),
        tile(id="4", name="loose", state="exited", exit_code=1),
        tile(id="5", name="c", labels={access.PROJECT_LABEL: "beta"}),
        tile(id="6", name="d"),
    ]

    groups = tiles.grouped(made)

    # Groups with a problem first (of those, containers of no project last), then the rest.
    assert [g["title"] for g in groups] == ["alpha", "no compose project", "beta"]
    assert [t["id"] for t in groups[0]["tiles"]] == ["3", "1", "2"]
    assert [t["id"] for t in groups[1]["tiles"]] == ["4", "6"]
    assert [g["engine_title"] for g in groups] == ["", "", ""]


def test_a_project_of_one_name_on_two_engines_is_two_groups_each_naming_its_engine():
    shop = {access.PROJECT_LABEL: "shop"}
    made = [
        {**tile(id="1", name="web", labels=shop), "engine": "prod"},
        {**tile(id="1", name="web", labels=shop), "engine": "local"},
        {**tile(id="2", name="db", labels=shop, state="dead"), "engine": "prod"},
    ]

    groups = tiles.grouped(made, {"local": "Local engine", "prod": "Production"})

    assert [(g["engine"], g["engine_title"]) for g in groups] == [
        ("prod", "Production"),  # its problem first
        ("local", "Local engine"),
    ]
    assert [t["name"] for t in groups[0]["tiles"]] == ["db", "web"]


# --- tokens and cookies ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_cookie_opens_its_screen_until_the_link_is_rotated_or_revoked():
    screen, _ = screens.screen_create(by=None, name="wall", team=None, on=[DEFAULT])
    cookie = screens.cookie_value(screen)
    mark = screens.fingerprint(screen.token_hash)

    assert screens.screen_for_cookie(cookie) == screen
    assert screens.still_valid(screen.pk, mark)
    screens.screen_rotate(by=None, screen=screen)
    assert screens.screen_for_cookie(cookie) is None
    assert not screens.still_valid(screen.pk, mark)
    fresh = screens.cookie_value(Screen.objects.get(pk=screen.pk))
    assert screens.screen_for_cookie(fresh) == screen
    screens.screen_revoke(by=None, screen=screen)
    assert screens.screen_for_cookie(fresh) is None


@pytest.mark.django_db
def test_a_cookie_not_signed_by_berth_or_for_another_purpose_opens_nothing():
    screen, _ = screens.screen_create(by=None, name="wall", team=None, on=[DEFAULT])
    payload = {"s": screen.pk, "f": screens.fingerprint(screen.token_hash)}

    assert screens.screen_for_cookie(signing.dumps(payload, salt="another purpose")) is None
    assert (
        screens.screen_for_cookie(signing.dumps(payload, key="x" * 50, salt=screens.COOKIE_SALT))
        is None
    )
    assert (
        screens.screen_for_cookie(signing.dumps({"s": screen.pk}, salt=screens.COOKIE_SALT)) is None
    )
    assert screens.screen_for_cookie("") is None


def test_the_cookie_names_no_token_and_no_hash():
    screen = Screen(pk=7, token_hash=screens.hash_token("the-token"))

    value = screens.cookie_value(screen)

    assert "the-token" not in value and screen.token_hash not in value
    assert screens.read_cookie(value) == (7, screens.fingerprint(screen.token_hash))


# --- who manages ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_team_admins_manage_their_teams_screens_and_superusers_all():
    home = Team.objects.create(slug="home", name="home")
    Team.objects.create(slug="away", name="away")
    admin = access.Actor(name="a", active=True, roles={"home": "admin", "away": "operator"})
    boss = access.Actor(name="b", active=True, superuser=True)
    screen_of_home = Screen(team=home)
    screen_of_host = Screen(team=None)

    assert screens.managed_teams(admin) == (["home"], False)
    assert sorted(screens.managed_teams(boss)[0]) == ["away", "home"]
    assert screens.may_manage(admin, screen_of_home)
    assert not screens.may_manage(admin, screen_of_host)
    assert screens.may_manage(boss, screen_of_host)
    screen = access.Actor(name="s", active=True, screen=access.ScreenScope(team="home"))
    assert screens.managed_teams(screen) == ([], False)


# --- the form -------------------------------------------------------------------------------


def test_the_form_refuses_a_name_on_several_lines_and_a_bad_project():
    form = ScreenForm(
        {"name": "a\tb", "team": "home", "project": "Not A Project", "engines": ["local"]},
        teams=["home", "away"],
        engines=ENGINES,
    )

    assert not form.is_valid()
    assert set(form.errors) == {"name", "project"}


def test_the_form_offers_the_whole_host_only_when_allowed():
    on = {"engines": ["local"]}
    assert not ScreenForm(
        {"name": "x", "team": "", **on}, teams=["home", "away"], engines=ENGINES
    ).is_valid()
    every = ScreenForm(
        {"name": "x", "team": "", **on}, teams=["home"], every_team=True, engines=ENGINES
    )
    assert every.is_valid() and every.cleaned_data["team"] == ""
    nothing = ScreenForm({"name": "x", **on}, teams=[], engines=ENGINES)
    assert not nothing.is_valid()
    assert "not an admin of any team" in str(nothing.errors["team"])


def test_the_form_takes_only_engines_offered_and_granted_to_the_screen_s_team():
    def form(*chosen: str, team: str = "home") -> ScreenForm:
        data = {"name": "x", "team": team, "engines": list(chosen)}
        return ScreenForm(data, teams=["home", "away"], every_team=True, engines=ENGINES)

    both = form("local", "prod")
    assert both.is_valid() and both.cleaned_data["engines"] == ["local", "prod"]
    granted_elsewhere = form("local", "lab")
    assert not granted_elsewhere.is_valid()
    assert "Team home may not use engine lab" in str(granted_elsewhere.errors["engines"])
    assert form("lab", team="").is_valid()  # every container on the host: any engine
    assert "not an engine you may use" in str(form("local", "hidden").errors["engines"])
    assert "at least one engine" in str(form().errors["engines"])


# --- the live feed's filter -----------------------------------------------------------------


async def test_an_event_of_a_container_the_screen_may_not_see_is_never_looked_at():
    actor = access.Actor(name="s", active=True, screen=access.ScreenScope(team="home"))
    feed = walls.ScreenFeed(Engine(slug="x", base_url="unix:///nowhere"), actor, Viewer())
    event = {"type": "container", "action": "start", "id": "b" * 64, "time": 1}

    feed.offer([{**event, "attributes": {access.TEAM_LABEL: "away"}}])
    feed.offer([{**event, "attributes": {}}])
    assert not feed._pending
    feed.offer([{**event, "action": "exec_start: sh", "attributes": {access.TEAM_LABEL: "home"}}])
    assert not feed._pending
    feed.offer([{**event, "attributes": {access.TEAM_LABEL: "home"}}])
    assert feed._pending == {"b" * 64}
    feed.close()


async def test_reloads_a_page_asks_for_in_a_burst_are_done_once(monkeypatch):
    actor = access.Actor(name="s", active=True, screen=access.ScreenScope(team="home"))
    feed = walls.ScreenFeed(Engine(slug="x", base_url="unix:///nowhere"), actor, Viewer())
    done = []

    async def reload() -> None:
        done.append(1)

    monkeypatch.setattr(feed, "reload", reload)

    for _ in range(100):
        feed.reload_soon()
    await asyncio.gather(*feed._tasks)

    assert done == [1]
    feed.reload_soon()
    await asyncio.gather(*feed._tasks)
    assert done == [1, 1]
    feed.close()


# --- manage.py screens ----------------------------------------------------------------------


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("screens", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_the_shell_makes_lists_rotates_and_revokes_screens():
    Team.objects.create(slug="home", name="home")

    made = run("create", "Ops", "--team", "home", "--project", "shop", "--logs")
    host = run("create", "All", "--every-team", "--base-url", "https://berth.example/")
    listed = run("list")
    rotated = run("rotate", "Ops", "--base-url", "https://berth.example")
    revoked = run("revoke", "Ops")
    again = run("revoke", "Ops")

    assert "Made screen" in made
    assert "team home, compose project shop, on engine local, with log lines" in made
    assert "Link (shown only now" in made and "/screens/" in made
    assert "https://berth.example/screens/" in host
    ops, every = Screen.objects.order_by("pk")
    assert f"{ops.pk}\tOps\thome\tshop\tlocal\tlogs\tactive" in listed
    assert f"{every.pk}\tAll\t(every team)\t(all)\tlocal\tno logs\tactive" in listed
    assert "new link" in rotated and "https://berth.example/screens/" in rotated
    assert "Revoked screen" in revoked and "revoked already" in again
    assert list(AuditEntry.objects.order_by("pk").values_list("action", "username", "team")) == [
        ("screen create", "(shell)", "home"),
        ("screen create", "(shell)", ""),
        ("screen rotate", "(shell)", "home"),
        ("screen revoke", "(shell)", "home"),
    ]


@pytest.mark.django_db
def test_the_shell_says_what_is_wrong():
    Team.objects.create(slug="home", name="home")
    run("create", "Twin", "--team", "home")
    run("create", "Twin", "--team", "home")

    with pytest.raises(CommandError, match="There is no team nowhere"):
        run("create", "x", "--team", "nowhere")
    with pytest.raises(CommandError, match="compose project"):
        run("create", "x", "--team", "home", "--project", "Bad Name")
    with pytest.raises(CommandError, match="nowhere is not an engine you may use"):
        run("create", "x", "--team", "home", "--engine", "nowhere")
    with pytest.raises(CommandError, match="Several screens are called Twin"):
        run("revoke", "Twin")
    with pytest.raises(CommandError, match="There is no screen ghost"):
        run("rotate", "ghost")
    first = Screen.objects.order_by("pk").first()
    run("revoke", str(first.pk))
    with pytest.raises(CommandError, match="revoked: make a new one"):
        run("rotate", str(first.pk))
