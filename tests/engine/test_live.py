"""Pages kept current by the engine's events: the /ws/live/ websocket against the engine."""

import asyncio
import json
import re
import time

import pytest
from django.contrib.auth.models import AnonymousUser

from containers_app.live import live_pages
from containers_app.streams import events, fanout
from tests.conftest import HOME_TEAM, STOPPABLE, TEAM_LABEL, TEST_IMAGE, member, unique
from tests.engine.sockets import (
    Frames,
    connected,
    events_subscribed,
    eventually,
    refused,
    stop_shared_upstreams,
)

# Each socket loads its user's teams on a thread of its own, which sees only what the test
# has committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    """The signed-in users' passwords need no real hashing here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_shared_upstreams():
    yield
    stop_shared_upstreams()


@pytest.fixture
def loner(db):
    """The admin of a team of their own: what other tests do on the shared engine is none of
    their business, so nothing of it reaches their pages."""
    return member(unique("loner"), unique("team"), "admin")


# --- helpers -------------------------------------------------------------------------------


async def watch(user, page: str, **params: str) -> Frames:
    """A live page's websocket, once the engine's events reach it."""
    query = "&".join(f"{k}={v}" for k, v in {"page": page, **params}.items())
    frames = Frames(await connected(f"/ws/live/?{query}", user))
    await eventually(events_subscribed)
    return frames


def update_of(container_id: str, state: str):
    return lambda item: item.get("id") == container_id and item.get("state") == state


def rows_with(data_id: str):
    return lambda item: item.get("kind") == "rows" and f'data-id="{data_id}"' in item["html"]


def rows_without(data_id: str):
    return lambda item: item.get("kind") == "rows" and f'data-id="{data_id}"' not in item["html"]


def live_pages_recent() -> list[dict]:
    """The events the process's events upstream delivered lately."""
    return [e for upstream in events.registry._upstreams.values() for e in upstream.recent]


async def in_thread(function, *args, **kwargs):
    """A blocking docker_api (or `make`) call, off the test's event loop."""
    return await asyncio.to_thread(function, *args, **kwargs)


async def close(*pages: Frames) -> None:
    for page in pages:
        await page.communicator.disconnect()


# --- the containers list -------------------------------------------------------------------


async def test_a_container_s_life_is_pushed_to_the_containers_page(
    admin_user, viewer_user, make, docker_api
):
    admin, viewer = await watch(admin_user, "containers"), await watch(viewer_user, "containers")

    container_id = (await in_thread(make.container, command=STOPPABLE, state="created"))["Id"]
    steps = [
        ("created", None),
        ("running", docker_api.start),
        ("paused", docker_api.pause),
        ("running", docker_api.unpause),
        ("exited", docker_api.stop),
    ]
    for state, action in steps:
        if action:
            await in_thread(action, container_id)
        for page in (admin, viewer):
            update = await page.until(update_of(container_id, state))
            assert update["kind"] == "container"
            assert update["html"].startswith(f'<tr id="c-{container_id}"')
            assert f'data-state="{state}"' in update["html"]

    await in_thread(docker_api.remove_container, container_id, force=True)
    for page in (admin, viewer):
        # Stopping sends kill, die and stop: more "exited" rows may come before this.
        removed = await page.until(
            lambda item: item.get("id") == container_id and "state" not in item
        )
        assert removed == {"kind": "container", "id": container_id, "removed": True}
    await close(admin, viewer)


async def test_a_container_that_exits_by_itself_is_pushed_as_exited(admin_user, make):
    page = await watch(admin_user, "containers")

    container = await in_thread(make.container, command=["sh", "-c", "sleep 1; exit 4"])

    update = await page.until(update_of(container["Id"], "exited"))
    assert "Exited (4)" in update["html"]
    await close(page)


async def test_pushed_rows_have_buttons_for_staff_and_none_for_viewers(
    admin_user, viewer_user, make, docker_api
):
    admin, viewer = await watch(admin_user, "containers"), await watch(viewer_user, "containers")

    container = await in_thread(make.container, command=STOPPABLE)

    staff_row = (await admin.until(update_of(container["Id"], "running")))["html"]
    viewer_row = (await viewer.until(update_of(container["Id"], "running")))["html"]
    assert "<button" in staff_row
    assert 'name="ids"' in staff_row
    assert "<button" not in viewer_row
    assert 'name="ids"' not in viewer_row
    assert container["Name"].lstrip("/") in viewer_row
    await close(admin, viewer)


async def test_an_update_names_the_container_and_carries_its_labels(admin_user, make):
    page = await watch(admin_user, "containers")
    marker = unique("label")

    container = await in_thread(make.container, command=STOPPABLE, labels={"berth.test": marker})

    update = await page.until(update_of(container["Id"], "running"))
    assert update["name"] == container["Name"].lstrip("/")
    assert update["labels"]["berth.test"] == marker
    await close(page)


async def test_one_events_upstream_serves_every_watcher_of_the_engine(
    admin_user, viewer_user, make
):
    pages = [
        await watch(admin_user, "containers"),
        await watch(viewer_user, "containers"),
        await watch(admin_user, "images"),
        await watch(viewer_user, "system"),
    ]

    assert len(events.registry) == 1
    (upstream,) = events.registry._upstreams.values()
    assert upstream.viewers == {live_pages(upstream.engine)}
    container = await in_thread(make.container, command=STOPPABLE)
    for page in pages[:2]:
        await page.until(update_of(container["Id"], "running"))
    await pages[3].until(lambda item: item.get("id") == container["Id"])
    assert len(events.registry) == 1
    await close(*pages)


async def test_the_events_upstream_stops_a_little_after_the_last_page_closes(
    admin_user, monkeypatch
):
    monkeypatch.setattr(fanout, "LINGER_SECONDS", 0.2)
    first, second = await watch(admin_user, "containers"), await watch(admin_user, "volumes")
    (upstream,) = events.registry._upstreams.values()

    await close(first)
    await asyncio.sleep(0.5)  # longer than the linger: one page still watches
    assert not upstream.stopping.is_set()

    await close(second)
    await eventually(lambda: len(events.registry) == 0, timeout=5)
    assert upstream.stopping.is_set()
    await eventually(lambda: not upstream._thread.is_alive(), timeout=5)


# --- the other lists -----------------------------------------------------------------------


async def test_building_and_removing_an_image_redraws_the_images_page(admin_user, make, docker_api):
    page = await watch(admin_user, "images")

    image_id = await in_thread(make.image, f"{unique('img')}:latest")

    rows = await page.until(rows_with(image_id))
    assert rows["html"].startswith('<tbody id="rows">')
    await in_thread(docker_api.remove_image, image_id, force=True)
    await page.until(rows_without(image_id))
    await close(page)


async def test_creating_and_removing_a_network_redraws_the_networks_page(
    admin_user, make, docker_api
):
    page = await watch(admin_user, "networks")

    network = await in_thread(make.network)

    rows = await page.until(rows_with(network["Id"]))
    assert network["Name"] in rows["html"]
    await in_thread(docker_api.remove_network, network["Id"])
    await page.until(rows_without(network["Id"]))
    await close(page)


async def test_creating_and_removing_a_volume_redraws_the_volumes_page(
    admin_user, viewer_user, make, docker_api
):
    admin, viewer = await watch(admin_user, "volumes"), await watch(viewer_user, "volumes")

    volume = await in_thread(make.volume)

    admin_rows = (await admin.until(rows_with(volume["Name"])))["html"]
    viewer_rows = (await viewer.until(rows_with(volume["Name"])))["html"]
    assert "<button" in row_of(admin_rows, volume["Name"])
    assert "<button" not in row_of(viewer_rows, volume["Name"])
    await in_thread(docker_api.remove_volume, volume["Name"])
    await admin.until(rows_without(volume["Name"]))
    await close(admin, viewer)


def row_of(rows_html: str, data_id: str) -> str:
    found = re.search(rf'<tr\b[^>]*data-id="{re.escape(data_id)}".*?</tr>', rows_html, re.S)
    assert found, rows_html
    return found.group(0)


# --- the system page and a container's page ------------------------------------------------


async def test_the_system_page_gets_the_events_feed_and_redrawn_figures(
    admin_user, make, docker_api
):
    page = await watch(admin_user, "system")

    container = await in_thread(make.container, command=STOPPABLE, state="created")

    event = await page.until(
        lambda item: item.get("kind") == "event" and item.get("id") == container["Id"]
    )
    assert event["type"] == "container"
    assert event["action"] == "create"
    assert event["name"] == container["Name"].lstrip("/")
    rows = await page.until(lambda item: item.get("kind") == "rows")
    assert rows["html"].startswith('<div id="system-live">')
    await close(page)


async def test_a_newly_opened_system_page_starts_with_the_recent_events(admin_user, make):
    first = await watch(admin_user, "system")
    container = await in_thread(make.container, command=STOPPABLE)
    await first.until(lambda item: item.get("id") == container["Id"])

    second = await watch(admin_user, "system")

    event = await second.until(
        lambda item: item.get("kind") == "event" and item.get("id") == container["Id"]
    )
    assert event["action"] in ("create", "start")
    await close(first, second)


async def test_a_container_s_page_is_told_to_refresh_when_that_container_changes(
    admin_user, make, docker_api
):
    mine = await in_thread(make.container, command=STOPPABLE)
    other = await in_thread(make.container, command=STOPPABLE)
    page = await watch(admin_user, "container", id=mine["Id"])
    other_page = await watch(admin_user, "container", id=other["Id"])

    await in_thread(docker_api.pause, other["Id"])
    assert await other_page.until(lambda item: True) == {"kind": "refresh"}
    # Both pages hear of an event in the same delivery: this one was not told.
    assert await page.communicator.receive_nothing(timeout=0.2)

    await in_thread(docker_api.pause, mine["Id"])
    assert await page.until(lambda item: True) == {"kind": "refresh"}
    await close(page, other_page)


async def test_live_updates_never_carry_a_secret_environment_value_to_a_viewer(
    viewer_user, make, docker_api
):
    created = await in_thread(
        docker_api.create_container,
        TEST_IMAGE,
        command=STOPPABLE,
        name=unique("c"),
        environment={"DB_PASSWORD": "hunter2"},
        labels={TEAM_LABEL: HOME_TEAM},
    )
    make.containers.append(created["Id"])
    await in_thread(docker_api.start, created["Id"])
    own_page = await watch(viewer_user, "container", id=created["Id"])
    listed = await watch(viewer_user, "containers")

    await in_thread(docker_api.pause, created["Id"])

    # The container's page is only told to ask its view again, which masks secrets.
    assert await own_page.until(lambda item: True) == {"kind": "refresh"}
    await listed.until(update_of(created["Id"], "paused"))
    sent = json.dumps([own_page.items, own_page.notices, listed.items, listed.notices])
    assert "hunter2" not in sent
    await close(own_page, listed)


# --- a page that connects a moment after it was rendered ----------------------------------


async def test_a_change_made_before_the_first_page_connected_reaches_it(admin_user, make):
    rendered = time.time_ns()
    container = await in_thread(make.container, command=STOPPABLE)

    page = await watch(admin_user, "containers", since=str(rendered))

    # No upstream ran meanwhile: the new one reads from the page's time.
    update = await page.until(update_of(container["Id"], "running"))
    assert 'data-state="running"' in update["html"]
    await close(page)


async def test_a_page_that_missed_a_change_others_saw_is_told_to_reload(admin_user, make):
    first = await watch(admin_user, "containers")
    rendered = time.time_ns()
    container = await in_thread(make.container, command=STOPPABLE)
    await first.until(update_of(container["Id"], "running"))

    late = await watch(admin_user, "containers", since=str(rendered))

    assert await late.until(lambda item: True) == {"kind": "refresh"}
    await close(first, late)


async def test_a_page_that_missed_nothing_it_shows_is_not_told_to_reload(loner, make):
    first = await watch(loner, "containers")
    rendered = time.time_ns()
    # A volume is not on the containers page.
    volume = await in_thread(make.volume)
    await eventually(lambda: any(e["id"] == volume["Name"] for e in live_pages_recent()))

    late = await watch(loner, "containers", since=str(rendered))

    assert await late.communicator.receive_nothing(timeout=0.5)
    await close(first, late)


@pytest.mark.parametrize("age_seconds", [120, -120])
async def test_a_page_rendered_long_ago_or_in_the_future_is_told_to_reload(admin_user, age_seconds):
    since = time.time_ns() - age_seconds * 1_000_000_000

    page = await watch(admin_user, "volumes", since=str(since))

    assert await page.until(lambda item: True) == {"kind": "refresh"}
    await close(page)


@pytest.mark.parametrize("since", ["soon", "9" * 5000, "-5", ""])
async def test_a_page_time_that_is_not_a_time_is_ignored(loner, since):
    page = await watch(loner, "volumes", since=since)

    assert await page.communicator.receive_nothing(timeout=0.3)
    await close(page)


# --- who may watch -------------------------------------------------------------------------


async def test_someone_signed_out_may_not_watch_a_page():
    assert await refused("/ws/live/?page=containers", AnonymousUser()) == 4403


@pytest.mark.parametrize(
    "query", ["page=nonsense", "", "page=container", "page=container&id=../../etc"]
)
async def test_an_unknown_page_is_a_bad_request(admin_user, query):
    assert await refused(f"/ws/live/?{query}", admin_user) == 4400


# --- the pages that open these websockets --------------------------------------------------


@pytest.mark.parametrize(
    ("url", "page"),
    [
        ("/containers/", "containers"),
        ("/images/", "images"),
        ("/networks/", "networks"),
        ("/volumes/", "volumes"),
        ("/system/", "system"),
    ],
)
def test_a_list_page_says_which_live_updates_it_wants(viewer_client, url, page):
    before = time.time_ns()
    response = viewer_client.get(url)
    after = time.time_ns()

    assert response.status_code == 200
    assert f'data-live="{page}"' in response.content.decode()
    # From when the request began, before the engine was asked what to show.
    since = re.search(r'data-since="(\d+)"', response.content.decode())
    assert since and before <= int(since.group(1)) <= after
    assert '<script src="/static/app/live.js" defer></script>' in response.content.decode()


def test_a_container_s_page_asks_for_that_container_s_live_updates(viewer_client, make):
    container = make.container(command=STOPPABLE)

    response = viewer_client.get(f"/containers/{container['Id']}/")

    assert response.status_code == 200
    assert f'data-live="container" data-id="{container["Id"]}"' in response.content.decode()
