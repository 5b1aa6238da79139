"""Which engine events change what a live page shows."""

import pytest

from containers_app.live import PageView, concerns


def event(kind: str, action: str, object_id: str = "abc") -> dict:
    return {"type": kind, "action": action, "id": object_id, "time": 1}


def view(page: str, object_id: str = "") -> PageView:
    return PageView(page=page, can_change=True, object_id=object_id)


# Images show "in use by", volumes and networks their users, system the counts.
@pytest.mark.parametrize("page", ["containers", "images", "volumes", "networks", "system"])
def test_a_container_starting_concerns_the_lists_that_show_it(page):
    assert concerns(view(page), event("container", "start"))


def test_a_container_event_concerns_only_that_container_s_page():
    assert concerns(view("container", "abc"), event("container", "die", "abc"))
    assert not concerns(view("container", "other"), event("container", "die", "abc"))


@pytest.mark.parametrize("action", ["exec_start: sh", "exec_die", "attach", "resize", "top"])
def test_what_does_not_change_a_row_concerns_no_page(action):
    for page in ("containers", "images", "system"):
        assert not concerns(view(page), event("container", action))
    assert not concerns(view("container", "abc"), event("container", action))


def test_a_volume_event_concerns_the_volumes_and_system_pages_only():
    created = event("volume", "create")

    assert concerns(view("volumes"), created)
    assert concerns(view("system"), created)
    assert not concerns(view("containers"), created)
    assert not concerns(view("networks"), created)
