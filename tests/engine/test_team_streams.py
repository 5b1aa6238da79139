"""Two teams on one engine, over websockets and the pages that open them: a member of one
team never receives the other team's rows, events, stats or log lines, and the other team's
containers are not found (4404, 404) by id or by name on the logs, stats, terminal and live
sockets. Every "it did not arrive" waits first for something of the member's own team that
happened after it."""

import asyncio
import html
import json
import re
import shlex

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client

from containers_app import tickets
from containers_app.models import AuditEntry, Membership, Team
from tests.conftest import HOME_TEAM, OTHER_TEAM, STOPPABLE, member, unique
from tests.engine.sockets import (
    Frames,
    connected,
    events_subscribed,
    eventually,
    refused,
    router,
    stop_shared_upstreams,
)

# Each socket loads its user's teams on a thread of its own, which sees only what the test
# has committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_shared_upstreams():
    yield
    stop_shared_upstreams()


async def in_thread(function, *args, **kwargs):
    """A blocking docker_api (or `make`) call, off the test's event loop."""
    return await asyncio.to_thread(function, *args, **kwargs)


def join(user, team: str, role: str) -> None:
    """Gives `user` `role` in `team` as well (made if missing)."""
    found, _ = Team.objects.get_or_create(slug=team, defaults={"name": team})
    Membership.objects.create(user=user, team=found, role=role)


def name_of(container: dict) -> str:
    return container["Name"].lstrip("/")


def never_mentioned(items: list, *secrets: str) -> None:
    """None of `secrets` (ids, names) is anywhere in what a socket delivered."""
    sent = json.dumps(items)
    leaked = [secret for secret in secrets if secret in sent]
    assert not leaked, f"{leaked} reached the other team: {sent[:2000]}"


async def watch(user, page: str, **params: str) -> Frames:
    """A live page's websocket, once the engine's events reach it."""
    query = "&".join(f"{k}={v}" for k, v in {"page": page, **params}.items())
    frames = Frames(await connected(f"/ws/live/?{query}", user))
    await eventually(events_subscribed)
    return frames


def update_of(container_id: str, state: str):
    return lambda item: item.get("id") == container_id and item.get("state") == state


def sample_of(container_id: str):
    return lambda item: item.get("kind") == "stats" and item.get("id") == container_id


def row_of(html_text: str, data_id: str) -> str:
    found = re.search(rf'<tr\b[^>]*data-id="{re.escape(data_id)}".*?</tr>', html_text, re.S)
    assert found, html_text
    return found.group(0)


# --- the live containers list --------------------------------------------------------------


async def test_a_member_never_gets_another_team_s_container_rows_not_even_its_removal(
    staff_user, viewer_user, other_admin_user, make, docker_api
):
    staff, viewer = await watch(staff_user, "containers"), await watch(viewer_user, "containers")
    others = await watch(other_admin_user, "containers")

    theirs = await in_thread(make.container, command=STOPPABLE, team=OTHER_TEAM)
    await others.until(update_of(theirs["Id"], "running"))
    await in_thread(docker_api.stop, theirs["Id"], timeout=5)
    await others.until(update_of(theirs["Id"], "exited"))
    await in_thread(docker_api.remove_container, theirs["Id"], force=True)
    await others.until(lambda item: item.get("id") == theirs["Id"] and item.get("removed"))
    # Then one of the home team's, seen by its members after all of that.
    ours = await in_thread(make.container, command=STOPPABLE)

    for page in (staff, viewer):
        await page.until(update_of(ours["Id"], "running"))
        never_mentioned(page.items, theirs["Id"], name_of(theirs))
    never_mentioned(others.items, ours["Id"], name_of(ours))
    for page in (staff, viewer, others):
        await page.communicator.disconnect()


async def test_a_row_s_buttons_follow_the_watcher_s_role_in_that_row_s_team(
    operator_user, staff_user, make
):
    # Admin of the other team and viewer of the home team: buttons on one row, not the other.
    both = await in_thread(member, unique("both"), OTHER_TEAM, "admin")
    await in_thread(join, both, HOME_TEAM, "viewer")
    operator, staff = (
        await watch(operator_user, "containers"),
        await watch(staff_user, "containers"),
    )
    mixed = await watch(both, "containers")

    ours = await in_thread(make.container, command=STOPPABLE)
    theirs = await in_thread(make.container, command=STOPPABLE, team=OTHER_TEAM)

    operator_row = (await operator.until(update_of(ours["Id"], "running")))["html"]
    assert ">Stop</button>" in operator_row
    assert 'name="ids"' in operator_row
    assert ">Remove</button>" not in operator_row
    staff_row = (await staff.until(update_of(ours["Id"], "running")))["html"]
    assert ">Stop</button>" in staff_row
    assert ">Remove</button>" in staff_row
    looked_at = (await mixed.until(update_of(ours["Id"], "running")))["html"]
    owned = (await mixed.until(update_of(theirs["Id"], "running")))["html"]
    assert "<button" not in looked_at
    assert 'name="ids"' not in looked_at
    assert ">Remove</button>" in owned
    assert 'name="ids"' in owned
    for page in (operator, staff, mixed):
        await page.communicator.disconnect()


async def test_another_team_s_container_page_is_not_found_by_id_or_by_name(
    staff_user, other_admin_user, make
):
    theirs = await in_thread(make.container, command=STOPPABLE, team=OTHER_TEAM)

    for ref in (theirs["Id"], name_of(theirs)):
        assert await refused(f"/ws/live/?page=container&id={ref}", staff_user) == 4404
    assert await refused(f"/ws/live/?page=container&id={unique('missing')}", staff_user) == 4404
    own = await connected(f"/ws/live/?page=container&id={name_of(theirs)}", other_admin_user)
    await own.disconnect()


# --- the system page -----------------------------------------------------------------------


async def test_the_system_page_s_feed_has_no_event_of_another_team_s_objects(
    staff_user, other_admin_user, make, docker_api
):
    staff, others = await watch(staff_user, "system"), await watch(other_admin_user, "system")

    network = await in_thread(make.network, team=OTHER_TEAM)
    volume = await in_thread(make.volume, team=OTHER_TEAM)
    theirs = await in_thread(make.container, command=STOPPABLE, team=OTHER_TEAM)
    await in_thread(docker_api.remove_container, theirs["Id"], force=True)
    await in_thread(docker_api.remove_network, network["Id"])
    await in_thread(docker_api.remove_volume, volume["Name"])
    await others.until(
        lambda item: item.get("id") == volume["Name"] and item.get("action") == "destroy"
    )
    ours = await in_thread(make.container, command=STOPPABLE, state="created")

    event = await staff.until(lambda item: item.get("kind") == "event" and item["id"] == ours["Id"])
    assert event["action"] == "create"
    never_mentioned(
        staff.items,
        theirs["Id"],
        name_of(theirs),
        network["Id"],
        network["Name"],
        volume["Name"],
    )
    # The other team's own page heard of each of them.
    for object_id in (theirs["Id"], network["Id"]):
        assert any(item.get("id") == object_id for item in others.items)
    await staff.communicator.disconnect()
    await others.communicator.disconnect()


async def test_a_newly_opened_system_page_starts_only_with_events_its_watcher_may_see(
    staff_user, other_admin_user, make
):
    first = await watch(other_admin_user, "system")
    theirs = await in_thread(make.container, command=STOPPABLE, team=OTHER_TEAM)
    ours = await in_thread(make.container, command=STOPPABLE)
    await first.until(lambda item: item.get("id") == theirs["Id"])

    staff = await watch(staff_user, "system")

    await staff.until(lambda item: item.get("kind") == "event" and item["id"] == ours["Id"])
    never_mentioned(staff.items, theirs["Id"], name_of(theirs))
    await first.communicator.disconnect()
    await staff.communicator.disconnect()


# --- the networks and volumes lists --------------------------------------------------------


async def test_list_redraws_leave_out_another_team_s_networks_and_volumes(
    staff_user, make, docker_api
):
    networks, volumes = await watch(staff_user, "networks"), await watch(staff_user, "volumes")

    their_network = await in_thread(make.network, team=OTHER_TEAM)
    their_volume = await in_thread(make.volume, team=OTHER_TEAM)
    our_network = await in_thread(make.network)
    our_volume = await in_thread(make.volume)

    await networks.until(lambda i: i.get("kind") == "rows" and our_network["Id"] in i["html"])
    await volumes.until(lambda i: i.get("kind") == "rows" and our_volume["Name"] in i["html"])
    never_mentioned(networks.items, their_network["Id"], their_network["Name"])
    never_mentioned(volumes.items, their_volume["Name"])
    await networks.communicator.disconnect()
    await volumes.communicator.disconnect()


# --- stats ---------------------------------------------------------------------------------


async def test_all_stats_follow_only_the_member_s_team_s_containers(staff_user, make, docker_api):
    before = await in_thread(make.container, command=STOPPABLE, team=OTHER_TEAM)
    page = Frames(await connected("/ws/stats/", staff_user))
    await eventually(events_subscribed)

    after = await in_thread(make.container, command=STOPPABLE, team=OTHER_TEAM)
    ours = await in_thread(make.container, command=STOPPABLE)
    first = await page.until(sample_of(ours["Id"]))
    # A second sample comes a second after the first: theirs would have come by now.
    await page.until(lambda item: sample_of(ours["Id"])(item) and item is not first)
    await in_thread(docker_api.stop, after["Id"], timeout=5)
    await in_thread(docker_api.stop, ours["Id"], timeout=5)
    await page.until(lambda item: item.get("kind") == "gone" and item.get("id") == ours["Id"])

    never_mentioned(page.items + page.notices, before["Id"], after["Id"])
    never_mentioned(page.items + page.notices, name_of(before), name_of(after))
    await page.communicator.disconnect()


async def test_one_container_s_stats_of_another_team_are_not_found_by_id_or_by_name(
    staff_user, viewer_user, other_admin_user, make
):
    theirs = await in_thread(make.container, command=STOPPABLE, team=OTHER_TEAM)

    for user in (staff_user, viewer_user):
        for ref in (theirs["Id"], name_of(theirs), theirs["Id"][:12]):
            assert await refused(f"/ws/stats/?id={ref}", user) == 4404
    own = Frames(await connected(f"/ws/stats/?id={name_of(theirs)}", other_admin_user))
    await own.until(sample_of(theirs["Id"]))
    await own.communicator.disconnect()


def test_the_stats_page_lists_only_the_member_s_team_s_containers(staff_client, make):
    ours = make.container(command=STOPPABLE)
    theirs = make.container(command=STOPPABLE, team=OTHER_TEAM)

    page = staff_client.get("/stats/").content.decode()

    assert ours["Id"] in page
    assert theirs["Id"] not in page
    assert name_of(theirs) not in page


# --- logs ----------------------------------------------------------------------------------


async def log_refusal(path: str, user) -> tuple[dict, int]:
    """The notice and close code a log socket answers `user` with before any line."""
    communicator = WebsocketCommunicator(router, path)
    communicator.scope["user"] = user
    accepted, _ = await communicator.connect(timeout=15)
    assert accepted
    notice = json.loads((await communicator.receive_output(timeout=15))["text"])
    closed = await communicator.receive_output(timeout=15)
    assert closed["type"] == "websocket.close", closed
    return notice, closed["code"]


async def test_another_team_s_container_log_is_not_found_by_id_or_by_name(
    staff_user, viewer_user, make
):
    theirs = await in_thread(
        make.container, command="sh -c 'echo secret-line; sleep 600'", team=OTHER_TEAM
    )
    missing = unique("missing")
    _, missing_code = await log_refusal(f"/ws/containers/{missing}/logs/", staff_user)

    for user in (staff_user, viewer_user):
        for ref in (theirs["Id"], name_of(theirs)):
            notice, code = await log_refusal(f"/ws/containers/{ref}/logs/?tail=all", user)
            assert code == missing_code == 4404
            # Word for word what a container that does not exist gets.
            assert notice == {
                "state": "ended",
                "error": f"No such container: {ref}",
                "notice": f"No such container: {ref}",
            }


async def test_merged_logs_naming_another_team_s_container_send_no_line_of_either(
    staff_user, make, docker_api
):
    ours = await in_thread(make.container, command="sh -c 'echo our-line; sleep 600'")
    theirs = await in_thread(
        make.container, command="sh -c 'echo their-line; sleep 600'", team=OTHER_TEAM
    )

    for ref in (theirs["Id"], name_of(theirs)):
        notice, code = await log_refusal(f"/ws/logs/?c={ours['Id']}&c={ref}&tail=all", staff_user)
        assert code == 4404
        assert notice["error"] == f"No such container: {ref}"


def test_the_merged_log_page_of_a_project_leaves_out_another_team_s_containers(staff_client, make):
    project = unique("p")
    labels = {"com.docker.compose.project": project}
    ours = make.container(labels=labels)
    theirs = make.container(labels=labels, team=OTHER_TEAM)

    response = staff_client.get("/logs/", {"project": project})

    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    socket = page.split('data-socket="', 1)[1].split('"', 1)[0]
    assert socket == f"/ws/logs/?c={ours['Id']}"
    assert theirs["Id"] not in page
    assert name_of(theirs) not in page
    # `docker compose logs` would show theirs too: the command names those shown.
    command = page.split('id="logs-command">', 1)[1].split("</code>", 1)[0]
    assert shlex.split(command) == shlex.split(f"docker logs --follow --tail 500 {name_of(ours)}")


def test_a_project_of_another_team_only_has_no_merged_log_page(staff_client, make):
    project = unique("p")
    make.container(labels={"com.docker.compose.project": project}, team=OTHER_TEAM)

    response = staff_client.get("/logs/", {"project": project})

    # As a project without containers.
    assert response.status_code == 400
    assert staff_client.get("/logs/", {"project": unique("p")}).status_code == 400
    assert project not in response.content.decode()


def test_the_merged_log_page_naming_another_team_s_container_is_not_found(staff_client, make):
    ours = make.container()
    theirs = make.container(team=OTHER_TEAM)

    response = staff_client.get(f"/logs/?c={ours['Id']}&c={theirs['Id']}")
    missing = staff_client.get(f"/logs/?c={ours['Id']}&c={'0' * 64}")

    assert response.status_code == missing.status_code == 404
    assert name_of(theirs) not in response.content.decode()


@pytest.mark.parametrize("suffix", ["logs/", "logs/download/"])
def test_another_team_s_log_page_and_download_are_not_found_by_id_or_by_name(
    staff_client, viewer_client, make, suffix
):
    theirs = make.container(command="sh -c 'echo their-line; sleep 600'", team=OTHER_TEAM)

    for client in (staff_client, viewer_client):
        for ref in (theirs["Id"], name_of(theirs)):
            response = client.get(f"/containers/{ref}/{suffix}")
            assert response.status_code == 404
            assert b"their-line" not in b"".join(getattr(response, "streaming_content", []))


# --- terminals -----------------------------------------------------------------------------


def exec_path(container_id: str, ticket: str) -> str:
    return f"/ws/containers/{container_id}/exec/?ticket={ticket}&cols=80&rows=24"


def ticket_for(person, container_id: str) -> str:
    return tickets.issue(
        user_id=person.pk, container_id=container_id, command=["sh"], user="", workdir=""
    )


async def test_a_terminal_in_another_team_s_container_is_not_found_by_id_or_by_name(
    staff_user, make, docker_api
):
    theirs = await in_thread(make.container, command=STOPPABLE, team=OTHER_TEAM)

    for ref in (theirs["Id"], name_of(theirs)):
        ticket = ticket_for(staff_user, theirs["Id"])
        assert await refused(exec_path(ref, ticket), staff_user) == 4404
    # Nothing ran in it.
    assert not (await in_thread(docker_api.inspect_container, theirs["Id"]))["ExecIDs"]


async def test_a_viewer_of_the_container_s_team_is_refused_a_terminal_and_it_is_recorded(
    viewer_user, make, docker_api
):
    # An operator elsewhere, so the route lets them try: the container's team says no.
    await in_thread(join, viewer_user, OTHER_TEAM, "operator")
    ours = await in_thread(make.container, command=STOPPABLE)

    assert (
        await refused(exec_path(ours["Id"], ticket_for(viewer_user, ours["Id"])), viewer_user)
        == 4403
    )

    assert not (await in_thread(docker_api.inspect_container, ours["Id"]))["ExecIDs"]
    denied = await in_thread(list, AuditEntry.objects.filter(username=viewer_user.username))
    assert [(e.denied, e.action) for e in denied] == [
        (True, "websocket /ws/containers/{ref}/exec/")
    ]


def test_the_terminal_page_of_another_team_s_container_is_not_found(staff_client, make):
    theirs = make.container(command=STOPPABLE, team=OTHER_TEAM)

    for ref in (theirs["Id"], name_of(theirs)):
        assert staff_client.get(f"/containers/{ref}/exec/").status_code == 404
        response = staff_client.post(f"/containers/{ref}/exec/", {"cmd": "sh"})
        assert response.status_code == 404
        assert "data-ticket" not in response.content.decode()


def test_the_terminal_page_refuses_a_viewer_of_the_container_s_team_and_records_it(
    viewer_user, make
):
    join(viewer_user, OTHER_TEAM, "operator")
    ours = make.container(command=STOPPABLE)
    browser = Client()
    browser.force_login(viewer_user)

    response = browser.post(f"/containers/{ours['Id']}/exec/", {"cmd": "sh"})

    assert response.status_code == 403
    assert "data-ticket" not in response.content.decode()
    entry = AuditEntry.objects.get(username=viewer_user.username)
    assert (entry.denied, entry.action, entry.team) == (True, "exec", HOME_TEAM)
    assert entry.target == name_of(ours)


# --- rights that change while a socket is open ---------------------------------------------


@pytest.mark.parametrize(
    "path", ["/ws/live/?page=containers", "/ws/stats/", "/ws/live/?page=system"]
)
async def test_a_member_removed_from_the_team_has_their_open_sockets_closed(path, monkeypatch):
    from asgiref.sync import sync_to_async

    from containers_app.consumers import base

    monkeypatch.setattr(base, "RIGHTS_CHECK_SECONDS", 0.2)
    user = await sync_to_async(member)(unique("leaving"), HOME_TEAM, "viewer")
    communicator = await connected(path, user)

    await sync_to_async(Membership.objects.filter(user=user).delete)()

    closed = None
    for _ in range(50):
        message = await communicator.receive_output(timeout=5)
        if message["type"] == "websocket.close":
            closed = message
            break
    assert closed is not None and closed["code"] == base.CLOSE_RIGHTS_CHANGED
