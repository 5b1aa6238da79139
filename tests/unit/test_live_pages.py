"""Which engine events change what a live page shows, and to whom."""

import pytest

from containers_app.access import Actor, ScreenScope
from containers_app.live import PageView, concerns, sees

HOME, OTHER = "berth-tests", "berth-others"
SUPERUSER = Actor(name="root", active=True, superuser=True)
MEMBER = Actor(name="ann", active=True, roles={HOME: "viewer"})
OUTSIDER = Actor(name="bob", active=True, roles={OTHER: "admin"})
SCREEN = Actor(name="screen", active=True, screen=ScreenScope(team=HOME))


def event(kind: str, action: str, object_id: str = "abc", **fields) -> dict:
    return {"type": kind, "action": action, "id": object_id, "time": 1, **fields}


def home_event(kind: str, action: str, object_id: str = "abc") -> dict:
    """An event of the home team's object: containers carry their labels as attributes,
    networks and volumes get theirs from the events reader."""
    if kind == "container":
        return event(kind, action, object_id, attributes={"berth.team": HOME, "name": "web"})
    return event(kind, action, object_id, labels={"berth.team": HOME})


def view(page: str, object_id: str = "", actor: Actor = SUPERUSER) -> PageView:
    return PageView(page=page, actor=actor, object_id=object_id)


# Images show "in use by", volumes and networks their users, system the counts.
@pytest.mark.parametrize("page", ["containers", "images", "volumes", "networks", "system"])
def test_a_container_starting_concerns_the_lists_that_show_it(page):
    assert concerns(view(page), home_event("container", "start"))


def test_a_container_event_concerns_only_that_container_s_page():
    assert concerns(view("container", "abc"), home_event("container", "die", "abc"))
    assert not concerns(view("container", "other"), home_event("container", "die", "abc"))


@pytest.mark.parametrize("action", ["exec_start: sh", "exec_die", "attach", "resize", "top"])
def test_what_does_not_change_a_row_concerns_no_page(action):
    for page in ("containers", "images", "system"):
        assert not concerns(view(page), home_event("container", action))
    assert not concerns(view("container", "abc"), home_event("container", action))


def test_a_volume_event_concerns_the_volumes_and_system_pages_only():
    created = home_event("volume", "create")

    assert concerns(view("volumes"), created)
    assert concerns(view("system"), created)
    assert not concerns(view("containers"), created)
    assert not concerns(view("networks"), created)


def test_another_team_s_container_concerns_no_page_of_a_member():
    theirs = event("container", "start", attributes={"berth.team": OTHER})

    for page in ("containers", "images", "volumes", "networks", "system"):
        assert not concerns(view(page, actor=MEMBER), theirs)
        assert concerns(view(page, actor=OUTSIDER), theirs)
    assert not concerns(view("container", "abc", actor=MEMBER), theirs)


@pytest.mark.parametrize("kind", ["container", "network", "volume"])
def test_a_member_sees_the_events_of_their_team_s_objects_only(kind):
    assert sees(MEMBER, home_event(kind, "create"))
    assert not sees(OUTSIDER, home_event(kind, "create"))
    assert sees(SUPERUSER, home_event(kind, "create"))


def test_everyone_sees_image_events_but_a_screen():
    pulled = event("image", "pull", attributes={"name": "busybox:latest"})

    assert sees(MEMBER, pulled)
    assert sees(OUTSIDER, pulled)
    assert not sees(SCREEN, pulled)


def test_the_engine_s_own_events_are_for_superusers():
    reloaded = event("daemon", "reload", attributes={"name": "host"})

    assert sees(SUPERUSER, reloaded)
    assert not sees(MEMBER, reloaded)
    assert not sees(OUTSIDER, reloaded)


def test_a_network_or_volume_whose_owner_is_unknown_is_a_superuser_s_event():
    unknown = event("network", "destroy", labels=None, name="gone")

    assert sees(SUPERUSER, unknown)
    assert not sees(MEMBER, unknown)


def test_a_container_joining_the_default_bridge_is_seen_by_who_sees_the_container():
    joined = event(
        "network",
        "connect",
        name="bridge",
        labels={},
        attributes={"container": "abc", "name": "bridge"},
        container_labels={"berth.team": HOME},
    )

    assert sees(MEMBER, joined)
    assert not sees(OUTSIDER, joined)
    assert not sees(MEMBER, {**joined, "container_labels": None})
    assert sees(SUPERUSER, {**joined, "container_labels": None})


def test_a_screen_sees_its_team_s_containers_events_only():
    assert sees(SCREEN, home_event("container", "start"))
    assert not sees(SCREEN, event("container", "start", attributes={"berth.team": OTHER}))
    assert not sees(SCREEN, home_event("volume", "create"))


def test_views_differ_by_their_watchers_rights_not_by_who_holds_them():
    ann = Actor(name="ann", user_id=1, active=True, roles={HOME: "viewer"})
    cid = Actor(name="cid", user_id=2, active=True, roles={HOME: "viewer"})

    assert view("containers", actor=ann) == view("containers", actor=cid)
    assert hash(view("containers", actor=ann)) == hash(view("containers", actor=cid))
    assert view("containers", actor=ann) != view("containers", actor=OUTSIDER)
