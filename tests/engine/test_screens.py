"""Wall screens against the engine: the secret link swapped for a cookie, the wall page and
its websocket showing only the screen's containers, revocation and replacement closing open
walls, and a screen's cookie opening nothing else."""

import asyncio
import hashlib
import json
import logging
import re
import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from containers_app import engines, screens
from containers_app.models import AuditEntry, Screen, Team
from containers_app.streams import walls
from tests.conftest import (
    HOME_TEAM,
    OTHER_TEAM,
    STOPPABLE,
    TEAM_LABEL,
    TEST_IMAGE,
    unique,
)
from tests.conftest import (
    test_docker_host as docker_host,
)
from tests.engine.remote_engines import Remote
from tests.engine.second_engine import SecondEngine
from tests.engine.sockets import Frames, eventually, stop_shared_upstreams

SITE = "http://127.0.0.1:8000"
DEFAULT_ENGINE = settings.BERTH_DEFAULT_ENGINE
# The screen form's choice of engines, as the page has it checked at first.
ON_DEFAULT = {"engines": DEFAULT_ENGINE}
PROJECT_LABEL = "com.docker.compose.project"


@pytest.fixture(autouse=True)
def _no_shared_upstreams():
    yield
    stop_shared_upstreams()


def team(slug: str) -> Team:
    return Team.objects.get_or_create(slug=slug, defaults={"name": slug})[0]


def new_screen(
    slug: str | None = HOME_TEAM, on: tuple[str, ...] = (DEFAULT_ENGINE,), **options
) -> tuple[Screen, str]:
    """A screen of team `slug` (None: of the whole host) on the engines `on` (the default
    one), and its link's token."""
    return screens.screen_create(
        by=None, name=unique("screen"), team=team(slug) if slug else None, on=list(on), **options
    )


def wall_client(token: str) -> Client:
    """A browser that opened the screen's link: it holds the screen's cookie, nothing else."""
    client = Client()
    response = client.get(f"/screens/{token}/")
    assert response.status_code == 302, response.status_code
    return client


def tile_ids(html: str) -> set[str]:
    return set(re.findall(r'id="tile-[a-z0-9-]+-([0-9a-f]{64})"', html))


# --- the link -------------------------------------------------------------------------------


def test_the_link_sets_the_screens_cookie_and_sends_the_browser_where_no_token_is(db, make):
    container = make.container()
    _, token = new_screen()
    client = Client()

    response = client.get(f"/screens/{token}/")

    assert response.status_code == 302
    assert response["Location"] == "/screen/"
    assert token not in response["Location"]
    assert response["Referrer-Policy"] == "no-referrer"
    cookie = response.cookies[screens.COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
    assert token not in cookie.value
    wall = client.get("/screen/")
    assert wall.status_code == 200
    assert wall["Referrer-Policy"] == "no-referrer"
    assert container["Id"] in tile_ids(wall.content.decode())


def test_the_cookie_is_secure_when_the_link_came_over_https(db):
    _, token = new_screen()

    response = Client().get(f"/screens/{token}/", secure=True)

    assert response.cookies[screens.COOKIE_NAME]["secure"]


def test_only_the_tokens_hash_is_stored_and_no_audit_entry_holds_the_token(db):
    screen, token = new_screen(project="web", show_logs=True)
    screens.screen_rotate(by=None, screen=screen)

    stored = Screen.objects.get(pk=screen.pk)
    assert stored.token_hash != token
    assert len(stored.token_hash) == 64
    fields = [str(v) for v in Screen.objects.filter(pk=screen.pk).values().get().values()]
    assert not any(token in value for value in fields)
    entries = list(AuditEntry.objects.values_list("command", "message", "target"))
    assert [e for e in AuditEntry.objects.values_list("action", flat=True)] == [
        "screen rotate",
        "screen create",
    ]
    assert not any(token in part for entry in entries for part in entry)


def test_the_stored_hash_is_the_sha256_of_the_token(db):
    screen, token = new_screen()

    assert Screen.objects.get(pk=screen.pk).token_hash == hashlib.sha256(token.encode()).hexdigest()


@pytest.mark.parametrize("how", ["unknown", "revoked", "rotated"])
def test_a_link_that_is_not_valid_is_a_404_without_a_cookie(db, how, caplog):
    screen, token = new_screen()
    if how == "unknown":
        token = "A" * 43
    elif how == "revoked":
        screens.screen_revoke(by=None, screen=screen)
    else:
        screens.screen_rotate(by=None, screen=screen)

    with caplog.at_level(logging.DEBUG):
        response = Client().get(f"/screens/{token}/")

    assert response.status_code == 404
    assert response["Referrer-Policy"] == "no-referrer"
    assert screens.COOKIE_NAME not in response.cookies
    assert "This screen link is not valid" in response.content.decode()
    # Django's request log names a 4xx's path: this one would name the token.
    assert not any(token in record.getMessage() for record in caplog.records)


def test_the_link_answers_only_get_and_says_so_without_a_referrer(db):
    _, token = new_screen()

    response = Client().post(f"/screens/{token}/")

    assert response.status_code == 405
    assert response["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("how", ["revoked", "rotated"])
def test_a_walls_cookie_stops_opening_the_wall_once_its_screen_is_revoked_or_rotated(db, how):
    screen, token = new_screen()
    client = wall_client(token)
    assert client.get("/screen/").status_code == 200

    if how == "revoked":
        screens.screen_revoke(by=None, screen=screen)
    else:
        screens.screen_rotate(by=None, screen=screen)

    response = client.get("/screen/")
    assert response.status_code == 404
    assert "This screen link is not valid" in response.content.decode()


def test_the_wall_without_a_cookie_or_with_a_forged_one_is_not_valid(db):
    screen, _ = new_screen()
    forged = Client()
    forged.cookies[screens.COOKIE_NAME] = json.dumps({"s": screen.pk})

    assert Client().get("/screen/").status_code == 404
    assert forged.get("/screen/").status_code == 404


def test_opened_from_another_site_the_wall_reloads_itself_to_get_its_strict_cookie(db):
    response = Client().get("/screen/", headers={"Sec-Fetch-Site": "cross-site"})

    assert response.status_code == 200
    assert '<meta http-equiv="refresh" content="0">' in response.content.decode()


# --- what the wall shows -------------------------------------------------------------------


def test_the_wall_shows_only_its_teams_containers(db, make):
    mine = make.container()
    theirs = make.container(team=OTHER_TEAM)
    nobodys = make.container(team=None)
    _, token = new_screen()

    html = wall_client(token).get("/screen/").content.decode()

    shown = tile_ids(html)
    assert mine["Id"] in shown
    assert theirs["Id"] not in shown and nobodys["Id"] not in shown
    assert theirs["Name"].lstrip("/") not in html and nobodys["Name"].lstrip("/") not in html


def test_a_project_screen_shows_only_that_projects_containers(db, make):
    project = unique("p").replace("berthtest-", "berthtest")
    in_project = make.container(labels={PROJECT_LABEL: project})
    elsewhere = make.container(labels={PROJECT_LABEL: project + "x"})
    no_project = make.container()
    _, token = new_screen(project=project)

    html = wall_client(token).get("/screen/").content.decode()

    assert tile_ids(html) >= {in_project["Id"]}
    assert elsewhere["Id"] not in tile_ids(html) and no_project["Id"] not in tile_ids(html)
    assert f'data-project="{project}"' in html


def test_a_screen_of_the_whole_host_shows_every_teams_containers(db, make):
    mine = make.container()
    theirs = make.container(team=OTHER_TEAM)
    nobodys = make.container(team=None)
    _, token = new_screen(None)

    shown = tile_ids(wall_client(token).get("/screen/").content.decode())

    assert {mine["Id"], theirs["Id"], nobodys["Id"]} <= shown


def test_a_container_that_failed_is_shown_first_as_a_problem(db, make):
    fine = make.container(name=unique("a-fine"))
    failed = make.container(
        name=unique("z-failed"), command=["sh", "-c", "exit 3"], state="running"
    )
    make.api.wait(failed["Id"], timeout=30)
    _, token = new_screen()

    html = wall_client(token).get("/screen/").content.decode()

    assert html.index(failed["Id"]) < html.index(fine["Id"])
    tile = html[html.index(f'id="tile-{DEFAULT_ENGINE}-{failed["Id"]}"') :].split("</article>")[0]
    assert "problem" in tile.split(">")[0] and ">failed<" in tile
    assert "exited (3)" in tile


def test_a_tile_holds_no_command_environment_or_button(db, make):
    container = make.api.create_container(
        TEST_IMAGE,
        command="sleep 600",
        name=unique("c"),
        environment={"SECRET_TOKEN": "do-not-show-me"},
        labels={TEAM_LABEL: HOME_TEAM},
    )
    make.containers.append(container["Id"])
    make.api.start(container["Id"])
    _, token = new_screen()

    html = wall_client(token).get("/screen/").content.decode()

    assert container["Id"] in tile_ids(html)
    assert "do-not-show-me" not in html and "SECRET_TOKEN" not in html
    assert "sleep 600" not in html
    assert "<form" not in html and "<button" not in html


def test_the_wall_loads_no_script_inline_or_from_elsewhere(db, make):
    _, token = new_screen()

    html = wall_client(token).get("/screen/").content.decode()

    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts == ['<script src="/static/app/screen.js" defer>']
    assert "<script>" not in html and "http" not in "".join(scripts)


# --- a screen's cookie opens nothing else -------------------------------------------------


def test_a_screens_cookie_alone_changes_nothing_and_sees_no_other_page(db, make, docker_api):
    container = make.container(command=STOPPABLE)
    screen, token = new_screen()
    client = wall_client(token)
    ref = container["Id"]
    posts = [
        f"/containers/{ref}/stop/",
        f"/containers/{ref}/kill/",
        f"/containers/{ref}/remove/",
        f"/containers/{ref}/exec/",
        f"/containers/{ref}/commit/",
        f"/containers/{ref}/recreate/",
        "/containers/bulk/",
        "/containers/run/",
        "/images/pull/",
        "/images/prune/",
        "/networks/",
        "/volumes/",
        "/screens/",
        f"/screens/{screen.pk}/revoke/",
        f"/screens/{screen.pk}/rotate/",
        "/teams/",
    ]
    gets = ["/containers/", f"/containers/{ref}/", f"/containers/{ref}/logs/", "/screens/"]

    for path in posts:
        response = client.post(path, {"ids": ref, "action": "stop", "name": "x", "image": "x"})
        assert response.status_code == 302, path
        assert response["Location"].startswith("/accounts/login/"), path
    for path in gets:
        response = client.get(path)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], path

    assert docker_api.inspect_container(ref)["State"]["Running"]
    assert Screen.objects.get(pk=screen.pk).revoked is None
    assert not AuditEntry.objects.exclude(action="screen create").exists()


# --- the live wall --------------------------------------------------------------------------


async def open_wall(cookie: str, *, origin: str = SITE) -> WebsocketCommunicator:
    """ws/screen/ through the whole application (origin check, cookies), as a browser."""
    from dashboard.asgi import application

    headers = [(b"origin", origin.encode()), (b"host", b"127.0.0.1:8000")]
    if cookie:
        headers.append((b"cookie", f"{screens.COOKIE_NAME}={cookie}".encode()))
    return WebsocketCommunicator(application, "/ws/screen/", headers=headers)


def cookie_for(token: str) -> str:
    return wall_client(token).cookies[screens.COOKIE_NAME].value


async def connected_wall(token: str) -> Frames:
    communicator = await open_wall(await sync_to_async(cookie_for)(token))
    accepted, code = await communicator.connect(timeout=15)
    assert accepted, code
    return Frames(communicator)


def is_board(item: dict) -> bool:
    return item.get("kind") == "board"


@pytest.mark.django_db(transaction=True)
async def test_the_socket_sends_the_screens_tiles_and_nothing_of_another_team(make):
    mine = await sync_to_async(make.container)(command=STOPPABLE)
    theirs = await sync_to_async(make.container)(command=STOPPABLE, team=OTHER_TEAM)
    _, token = await sync_to_async(new_screen)()
    wall = await connected_wall(token)

    board = await wall.until(is_board)
    assert mine["Id"] in board["ids"] and theirs["Id"] not in board["ids"]
    await wall.until(lambda i: i.get("kind") == "stats" and i["id"] == mine["Id"])
    # Changes to both; the screen's own comes through, the other team's never does.
    await sync_to_async(make.api.stop)(theirs["Id"], timeout=5)
    await sync_to_async(make.api.stop)(mine["Id"], timeout=5)
    stopped = await wall.until(lambda i: i.get("id") == mine["Id"] and i.get("state") == "exited")
    assert stopped["kind"] == "tile" and stopped["uptime"].startswith("stopped")
    await asyncio.sleep(walls.SETTLE_SECONDS + 0.5)  # the settling second look included
    await wall.communicator.receive_nothing(timeout=0.3)
    assert not [i for i in wall.items if theirs["Id"] in json.dumps(i)]
    assert set(wall.items[0]) >= {"kind", "id", "name", "state", "problem", "restarts"}
    assert not [i for i in wall.items if i.get("kind") == "tile" and "env" in i]
    await wall.communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_new_container_of_the_team_gets_a_tile_and_a_removed_one_loses_it(make):
    _, token = await sync_to_async(new_screen)()
    wall = await connected_wall(token)
    await wall.until(is_board)
    await eventually(lambda: bool(list(screens_events())))

    theirs = await sync_to_async(make.container)(team=OTHER_TEAM)
    mine = await sync_to_async(make.container)()
    await wall.until(lambda i: i.get("kind") == "tile" and i["id"] == mine["Id"])
    await sync_to_async(make.api.remove_container)(mine["Id"], force=True)
    await wall.until(lambda i: i.get("kind") == "remove" and i["id"] == mine["Id"])

    assert not [i for i in wall.items if theirs["Id"] in json.dumps(i)]
    await wall.communicator.disconnect()


def screens_events():
    from containers_app.streams import events

    return [u for u in events.registry._upstreams.values() if u._stream is not None]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("how", ["revoked", "rotated"])
async def test_revoking_or_rotating_a_screen_closes_its_open_socket_within_2_s(how, make):
    await sync_to_async(make.container)()
    screen, token = await sync_to_async(new_screen)()
    wall = await connected_wall(token)
    await wall.until(is_board)

    change = screens.screen_revoke if how == "revoked" else screens.screen_rotate
    await sync_to_async(change)(by=None, screen=screen)
    started = time.monotonic()
    closed = None
    while closed is None and time.monotonic() - started < 3:
        message = await wall.communicator.receive_output(timeout=3)
        if message["type"] == "websocket.close":
            closed = message
    elapsed = time.monotonic() - started

    assert closed is not None and closed["code"] == 4403
    assert elapsed < 2, f"closed after {elapsed:.2f} s"


@pytest.mark.django_db(transaction=True)
async def test_the_socket_refuses_no_cookie_a_forged_one_and_tells_a_revoked_screen_why(make):
    screen, token = await sync_to_async(new_screen)()
    cookie = await sync_to_async(cookie_for)(token)
    await sync_to_async(screens.screen_revoke)(by=None, screen=screen)

    for value in ("", "forged:cookie"):
        communicator = await open_wall(value)
        accepted, code = await communicator.connect(timeout=15)
        assert (accepted, code) == (False, 4403), value
    # The revoked screen's own wall is told why, so it clears its tiles instead of retrying.
    revoked = await open_wall(cookie)
    assert (await revoked.connect(timeout=15))[0]
    told = json.loads(await revoked.receive_from(timeout=5))
    closed = await revoked.receive_output(timeout=5)
    assert told["state"] == "revoked"
    assert closed["type"] == "websocket.close" and closed["code"] == 4403


@pytest.mark.django_db(transaction=True)
async def test_a_screen_opens_only_so_many_sockets_at_once(settings):
    settings.MAX_WEBSOCKETS_PER_USER = 1
    _, token = await sync_to_async(new_screen)()
    first = await connected_wall(token)
    await first.until(is_board)

    second = await open_wall(await sync_to_async(cookie_for)(token))
    accepted, _ = await second.connect(timeout=15)
    assert accepted
    told = json.loads(await second.receive_from(timeout=5))
    closed = await second.receive_output(timeout=5)

    assert "Too many open connections for this screen" in told["error"]
    assert closed == {"type": "websocket.close", "code": 4429, "reason": told["error"]}
    await first.communicator.disconnect()
    third = await connected_wall(token)  # the first one's place is free again
    await third.communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_socket_refuses_a_foreign_origin_even_with_a_valid_cookie(make):
    _, token = await sync_to_async(new_screen)()
    cookie = await sync_to_async(cookie_for)(token)

    communicator = await open_wall(cookie, origin="http://127.0.0.1:9999")
    accepted, _ = await communicator.connect(timeout=15)

    assert not accepted


@pytest.mark.django_db(transaction=True)
async def test_a_screens_cookie_opens_no_other_socket(make):
    from dashboard.asgi import application

    container = await sync_to_async(make.container)()
    _, token = await sync_to_async(new_screen)()
    cookie = await sync_to_async(cookie_for)(token)
    paths = [
        "/ws/live/?page=containers",
        "/ws/stats/",
        f"/ws/containers/{container['Id']}/logs/?tail=1",
        f"/ws/containers/{container['Id']}/exec/?ticket=x",
        "/ws/audit/",
    ]

    for path in paths:
        headers = [
            (b"origin", SITE.encode()),
            (b"host", b"127.0.0.1:8000"),
            (b"cookie", f"{screens.COOKIE_NAME}={cookie}".encode()),
        ]
        communicator = WebsocketCommunicator(application, path, headers=headers)
        accepted, code = await communicator.connect(timeout=15)
        if accepted:
            await communicator.disconnect()
        assert (accepted, code) == (False, 4403), path


@pytest.mark.django_db(transaction=True)
async def test_a_project_given_to_or_taken_from_the_team_shows_on_an_open_wall(
    make, engine, monkeypatch
):
    from containers_app import teams

    monkeypatch.setattr(screens, "RESCOPE_CHECKS", 1)
    project = unique("p").replace("-", "")
    compose = await sync_to_async(make.container)(labels={PROJECT_LABEL: project}, team=None)
    _, token = await sync_to_async(new_screen)()
    wall = await connected_wall(token)
    assert compose["Id"] not in (await wall.until(is_board))["ids"]
    home = await sync_to_async(team)(HOME_TEAM)

    await sync_to_async(teams.project_assign)(by=None, engine=engine, team=home, project=project)

    given = await wall.until(is_board)
    assert compose["Id"] in given["ids"]
    await sync_to_async(teams.project_unassign)(by=None, engine=engine, project=project)
    taken = await wall.until(is_board)
    assert compose["Id"] not in taken["ids"]
    await wall.communicator.disconnect()


@pytest.fixture(scope="module")
def second_engine():
    """A private engine of this module's own, which a test may stop and start again."""
    engine = SecondEngine("screens")
    with engine.running():
        yield engine


@pytest.mark.django_db(transaction=True)
async def test_a_wall_says_when_its_engine_goes_away_and_reloads_its_tiles_once_it_is_back(
    second_engine, settings
):
    await sync_to_async(second_engine.start)()
    settings.DOCKER_HOST = second_engine.address
    container = await sync_to_async(second_engine.container)()
    _, token = await sync_to_async(new_screen)(None)
    client = await sync_to_async(wall_client)(token)
    wall = await connected_wall(token)
    assert container["Id"] in (await wall.until(is_board))["ids"]
    await eventually(lambda: bool(screens_events()))

    await sync_to_async(second_engine.stop)()

    down = await wall.until(lambda i: i.get("kind") == "engine", timeout=30)
    assert down["state"] == "down"
    page = await sync_to_async(client.get)("/screen/")
    assert page.status_code == 503
    assert "The Docker Engine is unavailable" in page.content.decode()
    await sync_to_async(second_engine.start)()
    # Told again at each retry while it is down; then once that it is back.
    await wall.until(lambda i: i.get("kind") == "engine" and i["state"] == "up", timeout=60)
    assert container["Id"] in (await wall.until(is_board, timeout=30))["ids"]
    await wall.communicator.disconnect()


# --- a screen of several engines ------------------------------------------------------------


@pytest.fixture
def tls(db):
    """The TLS test engine, registered in Berth for the home team only."""
    engine = Remote("tls", teams=[team(HOME_TEAM)], every_team=False)
    yield engine
    stop_shared_upstreams()
    engine.remove()


def test_a_screen_of_two_engines_shows_the_team_s_containers_of_both_each_under_its_engine(
    make, tls
):
    here = make.container()
    there = tls.container()
    theirs = tls.container(team=OTHER_TEAM)
    _, token = new_screen(on=(DEFAULT_ENGINE, tls.slug))

    response = wall_client(token).get("/screen/")

    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="tile-{DEFAULT_ENGINE}-{here["Id"]}"' in html
    assert f'id="tile-{tls.slug}-{there["Id"]}"' in html
    assert theirs["Id"] not in html and theirs["Name"].lstrip("/") not in html
    # Each group names its engine, and the header lists both.
    assert re.search(rf'data-engine="{tls.slug}" data-project="">\s*<h2>.*· {tls.slug}', html)
    assert re.search(rf'<ul class="engines"[^>]*>.*data-engine="{tls.slug}" class="up"', html)


def test_a_container_of_one_id_on_two_engines_is_two_tiles(db, make):
    """The same engine registered twice (its socket, and another slug for it): one id, two
    tiles, neither taken for the other."""
    container = make.container()
    again = unique("again")
    engines.engine_add(slug=again, address=docker_host(), every_team=True)
    _, token = new_screen(on=(DEFAULT_ENGINE, again))

    html = wall_client(token).get("/screen/").content.decode()

    assert f'id="tile-{DEFAULT_ENGINE}-{container["Id"]}"' in html
    assert f'id="tile-{again}-{container["Id"]}"' in html


def test_a_screen_shows_nothing_of_an_engine_its_team_may_not_use(make, tls):
    """Made from the shell with an engine the team was not granted (or granted no longer):
    that engine is not asked, and nothing of it shows."""
    there = tls.container(team=OTHER_TEAM)
    _, token = new_screen(OTHER_TEAM, on=(DEFAULT_ENGINE, tls.slug))

    html = wall_client(token).get("/screen/").content.decode()

    assert there["Id"] not in html and f'data-engine="{tls.slug}"' not in html


def test_an_engine_removed_while_a_screen_is_made_is_said_and_nothing_is_made(
    admin_client, monkeypatch
):
    gone = unique("gone")
    engines.engine_add(slug=gone, address=docker_host(), every_team=True)
    row_of = engines.row_of

    def removed_first(slug: str):
        if slug == gone:
            engines.engine_remove(slug=gone)
        return row_of(slug)

    monkeypatch.setattr(engines, "row_of", removed_first)
    response = admin_client.post(
        "/screens/", {"name": "Late", "team": "", "engines": [DEFAULT_ENGINE, gone]}
    )

    assert response.status_code == 400
    assert f"There is no engine {gone} any more." in response.content.decode()
    assert not Screen.objects.filter(name="Late").exists()


def test_a_screen_whose_engines_were_all_removed_says_so(db):
    gone = unique("gone")
    engines.engine_add(slug=gone, address=docker_host(), every_team=True)
    _, token = new_screen(on=(gone,))
    engines.engine_remove(slug=gone)

    response = wall_client(token).get("/screen/")

    assert response.status_code == 200
    assert "This screen shows no engine" in response.content.decode()


def test_an_engine_that_is_down_is_named_on_the_wall_and_the_other_s_tiles_show(db, make):
    here = make.container()
    dead = unique("dead")
    engines.engine_add(slug=dead, address=f"unix:///nonexistent/{dead}.sock", every_team=True)
    _, token = new_screen(on=(DEFAULT_ENGINE, dead))

    response = wall_client(token).get("/screen/")

    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="tile-{DEFAULT_ENGINE}-{here["Id"]}"' in html
    assert re.search(rf'<p data-engine="{dead}">Engine {dead} is unavailable: .+</p>', html)
    assert re.search(rf'data-engine="{dead}" class="down"', html)


@pytest.mark.django_db(transaction=True)
async def test_the_socket_of_a_screen_of_two_engines_sends_each_engine_s_tiles_and_stats(make):
    tls = await sync_to_async(Remote)(
        "tls", teams=[await sync_to_async(team)(HOME_TEAM)], every_team=False
    )
    try:
        here = await sync_to_async(make.container)(command=STOPPABLE)
        there = await sync_to_async(tls.container)()
        theirs = await sync_to_async(tls.container)(team=OTHER_TEAM)
        _, token = await sync_to_async(new_screen)(on=(DEFAULT_ENGINE, tls.slug))
        wall = await connected_wall(token)

        local = await wall.until(lambda i: is_board(i) and i["engine"] == DEFAULT_ENGINE)
        remote = await wall.until(lambda i: is_board(i) and i["engine"] == tls.slug)
        assert here["Id"] in local["ids"] and there["Id"] in remote["ids"]
        assert theirs["Id"] not in remote["ids"]
        await wall.until(
            lambda i: i.get("kind") == "stats" and (i["engine"], i["id"]) == (tls.slug, there["Id"])
        )
        # A change on the remote engine comes as that engine's tile.
        await sync_to_async(tls.api.stop)(there["Id"], timeout=5)
        stopped = await wall.until(
            lambda i: i.get("id") == there["Id"] and i.get("state") == "exited"
        )
        assert stopped["engine"] == tls.slug
        assert not [i for i in wall.items if theirs["Id"] in json.dumps(i)]
        await wall.communicator.disconnect()
    finally:
        await sync_to_async(stop_shared_upstreams)()
        await sync_to_async(tls.remove)()


@pytest.mark.django_db(transaction=True)
async def test_an_engine_taken_from_the_team_leaves_an_open_wall_and_a_grant_brings_it(
    make, monkeypatch
):
    monkeypatch.setattr(screens, "RESCOPE_CHECKS", 1)
    home = await sync_to_async(team)(HOME_TEAM)
    tls = await sync_to_async(Remote)("tls", teams=[home], every_team=False)
    try:
        there = await sync_to_async(tls.container)()
        _, token = await sync_to_async(new_screen)(on=(DEFAULT_ENGINE, tls.slug))
        wall = await connected_wall(token)
        await wall.until(lambda i: is_board(i) and there["Id"] in i["ids"])

        await sync_to_async(engines.engine_grant)(slug=tls.slug, teams=[])

        taken = await wall.until(lambda i: is_board(i) and i["engine"] == tls.slug)
        assert taken["ids"] == []
        await sync_to_async(engines.engine_grant)(slug=tls.slug, teams=[home])
        given = await wall.until(lambda i: is_board(i) and i["engine"] == tls.slug)
        assert given["ids"] == [there["Id"]]
        await wall.communicator.disconnect()
    finally:
        await sync_to_async(stop_shared_upstreams)()
        await sync_to_async(tls.remove)()


def test_a_team_admin_may_put_on_a_screen_only_engines_granted_to_its_team(staff_client, tls):
    elsewhere = unique("elsewhere")
    engines.engine_add(
        slug=elsewhere, address=docker_host(), teams=[team(OTHER_TEAM)], every_team=False
    )
    form = staff_client.get("/screens/").content.decode()

    made = staff_client.post(
        "/screens/", {"name": "Both", "team": HOME_TEAM, "engines": [DEFAULT_ENGINE, tls.slug]}
    )
    hidden = staff_client.post(
        "/screens/", {"name": "Spy", "team": HOME_TEAM, "engines": [elsewhere]}
    )

    assert f'value="{tls.slug}"' in form and elsewhere not in form
    assert made.status_code == 201
    assert screens.engine_slugs(Screen.objects.get(name="Both")) == [DEFAULT_ENGINE, tls.slug]
    assert hidden.status_code == 400
    assert f"{elsewhere} is not an engine you may use" in hidden.content.decode()
    assert not Screen.objects.filter(name="Spy").exists()


# --- the management page --------------------------------------------------------------------


def test_a_team_admin_makes_a_screen_for_their_team_and_sees_its_link_once(staff_client):
    response = staff_client.post("/screens/", {"name": "Lobby", "team": HOME_TEAM, **ON_DEFAULT})

    assert response.status_code == 201
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Cache-Control"] == "no-store"
    link = re.search(
        r'value="(http://testserver/screens/([A-Za-z0-9_-]{43})/)"', response.content.decode()
    )
    assert link, response.content.decode()
    screen = Screen.objects.get(name="Lobby")
    assert screen.team.slug == HOME_TEAM and screen.token_hash == screens.hash_token(link[2])
    assert link[2] not in staff_client.get("/screens/").content.decode()
    entry = AuditEntry.objects.get(action="screen create")
    assert entry.team == HOME_TEAM and link[2] not in entry.command + entry.message
    assert Client().get(link[1].removeprefix("http://testserver")).status_code == 302


def test_a_team_admin_may_not_make_a_screen_for_another_team_or_the_whole_host(staff_client):
    team(OTHER_TEAM)

    refused = staff_client.post("/screens/", {"name": "Spy", "team": OTHER_TEAM, **ON_DEFAULT})
    # No team chosen: their one team is taken, never the whole host.
    defaulted = staff_client.post("/screens/", {"name": "Mine", "team": "", **ON_DEFAULT})

    assert refused.status_code == 400
    assert "Choose one of your teams." in refused.content.decode()
    assert defaulted.status_code == 201
    assert list(Screen.objects.values_list("name", "team__slug")) == [("Mine", HOME_TEAM)]


def test_a_superuser_makes_a_screen_of_the_whole_host(admin_client):
    response = admin_client.post("/screens/", {"name": "Everything", "team": "", **ON_DEFAULT})

    assert response.status_code == 201
    assert Screen.objects.get(name="Everything").team is None


def test_a_viewer_or_operator_may_not_manage_screens(viewer_client, operator_client):
    for client in (viewer_client, operator_client):
        assert client.get("/screens/").status_code == 403
        assert (
            client.post("/screens/", {"name": "x", "team": HOME_TEAM, **ON_DEFAULT}).status_code
            == 403
        )
    assert not Screen.objects.exists()


def test_another_teams_admin_gets_a_404_on_a_screen_and_is_recorded_as_denied(
    other_admin_client, staff_client
):
    screen, _ = new_screen()

    for action in ("revoke", "rotate"):
        response = other_admin_client.post(f"/screens/{screen.pk}/{action}/")
        assert response.status_code == 404, action

    assert Screen.objects.get(pk=screen.pk).revoked is None
    denied = AuditEntry.objects.filter(denied=True).order_by("pk")
    assert [(e.action, e.team) for e in denied] == [
        ("screen revoke", HOME_TEAM),
        ("screen rotate", HOME_TEAM),
    ]
    assert f"screen-{screen.pk}" not in other_admin_client.get("/screens/").content.decode()
    assert f"screen-{screen.pk}" in staff_client.get("/screens/").content.decode()


def test_a_team_admin_revokes_and_rotates_their_teams_screen(staff_client):
    screen, token = new_screen()

    rotated = staff_client.post(f"/screens/{screen.pk}/rotate/")
    assert rotated.status_code == 200 and rotated["Cache-Control"] == "no-store"
    new_token = re.search(r"/screens/([A-Za-z0-9_-]{43})/", rotated.content.decode())[1]
    assert Client().get(f"/screens/{token}/").status_code == 404
    assert Client().get(f"/screens/{new_token}/").status_code == 302

    revoked = staff_client.post(f"/screens/{screen.pk}/revoke/", follow=True)
    assert "Revoked screen" in revoked.content.decode()
    assert Client().get(f"/screens/{new_token}/").status_code == 404
    assert staff_client.post(f"/screens/{screen.pk}/rotate/").status_code == 302
    actions = list(
        AuditEntry.objects.filter(team=HOME_TEAM).order_by("pk").values_list("action", "succeeded")
    )
    assert actions == [
        ("screen create", True),
        ("screen rotate", True),
        ("screen revoke", True),
        ("screen rotate", False),
    ]


def test_the_nav_links_screens_for_team_admins_only(staff_client, viewer_client):
    assert 'href="/screens/"' in staff_client.get("/teams/").content.decode()
    assert 'href="/screens/"' not in viewer_client.get("/teams/").content.decode()


# --- the shell -----------------------------------------------------------------------------


def test_manage_py_screens_create_prints_a_link_that_opens_the_wall(db, make, capsys):
    container = make.container()
    team(HOME_TEAM)

    call_command("screens", "create", "Ops wall", "--team", HOME_TEAM, "--base-url", "http://x/")

    out = capsys.readouterr().out
    link = re.search(r"http://x(/screens/[A-Za-z0-9_-]{43}/)", out)
    assert link, out
    client = Client()
    assert client.get(link[1]).status_code == 302
    assert container["Id"] in tile_ids(client.get("/screen/").content.decode())
    assert AuditEntry.objects.get(action="screen create").username == "(shell)"
