"""The dashboard in a real browser: htmx actions on the container list, and how every page looks."""

import re

import docker
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import new_page, sign_in
from tests.conftest import unique

pytestmark = pytest.mark.browser

# Exits at once on SIGTERM, so `docker stop` takes no ten-second grace period.
QUICK_TO_STOP = ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
HTMX_VERSION = "2.0.11"


def row(page: Page, container_id: str) -> Locator:
    return page.locator(f'#rows tr[data-id="{container_id}"]')


def button(scope: Locator, name: str) -> Locator:
    return scope.get_by_role("button", name=name, exact=True)


def state_of(docker_api, container_id: str) -> str:
    return docker_api.inspect_container(container_id)["State"]["Status"]


def names_action(verb: str, container_id: str, name: str) -> re.Pattern:
    """The message after an action names its command, with the container's id or name."""
    return re.compile(rf"docker {verb} ({container_id}|{re.escape(name)})")


def our_names(count: int) -> list[str]:
    """Names sharing a prefix no other test uses, so the list can be narrowed to them."""
    prefix = unique("browser")
    return [f"{prefix}-{n}" for n in range(count)]


def open_list(page: Page, name_filter: str, rows: int) -> None:
    """All containers, then narrowed by typing in the name filter (as `docker ps -a --filter
    name=`): other tests add and remove containers meanwhile, and the live list redraws and
    inserts their rows, which would move buttons from under the pointer."""
    page.goto("/containers/?all=1")
    assert page.evaluate("() => window.htmx && window.htmx.version") == HTMX_VERSION
    # Gone if the page reloads; the filter and the actions below must change it in place.
    page.evaluate("() => { window.berthNoReload = true; }")
    page.get_by_label("Filter by name").fill(name_filter)
    expect(page.locator("#list-command")).to_have_text(f"docker ps -a --filter name={name_filter}")
    expect(page.locator("#rows tr")).to_have_count(rows)


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("() => window.berthNoReload === true"), "the page was reloaded"


def test_it_starts_stops_and_removes_a_container_in_place(signed_in, make, docker_api):
    page = signed_in
    [name] = our_names(1)
    container = make.container(state="created", command=QUICK_TO_STOP, name=name)
    container_id = container["Id"]
    dialogs = []

    def accept(dialog):
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    open_list(page, name, rows=1)
    tr = row(page, container_id)
    expect(tr).to_have_attribute("data-state", "created")

    button(tr, "Start").click()
    expect(tr).to_have_attribute("data-state", "running")
    expect(tr.locator(".badge")).to_have_text("running")
    expect(page.locator("#messages")).to_contain_text(names_action("start", container_id, name))
    assert state_of(docker_api, container_id) == "running"

    button(tr, "Stop").click()
    expect(tr).to_have_attribute("data-state", "exited")
    expect(tr.locator(".badge")).to_have_text("exited")
    expect(page.locator("#messages")).to_contain_text(names_action("stop", container_id, name))
    assert state_of(docker_api, container_id) == "exited"

    button(tr, "Remove").click()
    expect(tr).to_have_count(0)
    expect(page.locator("#messages")).to_contain_text(names_action("rm", container_id, name))
    # The confirmation names the command it will run.
    assert len(dialogs) == 1 and f"docker rm {name}" in dialogs[0], dialogs
    with pytest.raises(docker.errors.NotFound):
        docker_api.inspect_container(container_id)
    assert_not_reloaded(page)


def test_it_stops_the_selected_containers_at_once(signed_in, make, docker_api, screenshots_dir):
    page = signed_in
    names = our_names(2)
    ids = [make.container(state="running", command=QUICK_TO_STOP, name=n)["Id"] for n in names]
    open_list(page, names[0].rpartition("-")[0], rows=2)
    bulk = page.locator("#bulk")
    expect(button(bulk, "Stop")).to_be_disabled()

    for container_id in ids:
        row(page, container_id).locator('input[name="ids"]').check()
    expect(page.locator("#bulk-count")).to_have_text("2 selected")
    # Redrawing the list (here by a filter, and back) keeps the ticks.
    state = page.get_by_label("Filter by state")
    state.select_option("running")
    expect(page.locator("#list-command")).to_contain_text("--filter status=running")
    expect(page.locator("#bulk-count")).to_have_text("2 selected")
    state.select_option("")
    expect(page.locator("#list-command")).not_to_contain_text("status=")
    expect(page.locator("#bulk-count")).to_have_text("2 selected")
    # The names in the order the rows are listed, as the preview reads them.
    listed = [
        label.removeprefix("Select ")
        for label in page.locator('#rows input[name="ids"]:checked').evaluate_all(
            "boxes => boxes.map(box => box.getAttribute('aria-label'))"
        )
    ]
    assert sorted(listed) == sorted(names)
    button(bulk, "Stop").hover()
    expect(page.locator("#bulk-command")).to_have_text(f"docker stop {' '.join(listed)}")
    page.screenshot(path=screenshots_dir / "containers-bulk-preview-light.png")

    button(bulk, "Stop").click()
    for container_id in ids:
        expect(row(page, container_id)).to_have_attribute("data-state", "exited")
    expect(page.locator("#messages")).to_contain_text("Stopped 2 of 2: docker stop")
    # The redrawn rows come unticked, and the toolbar says so.
    expect(page.locator('#rows input[name="ids"]:checked')).to_have_count(0)
    expect(page.locator("#bulk-count")).to_have_text("No containers selected")
    expect(page.locator("#bulk-command")).to_have_text("")
    assert [state_of(docker_api, i) for i in ids] == ["exited", "exited"]
    assert_not_reloaded(page)


def test_it_shows_why_the_engine_refused_to_remove_a_running_container(
    signed_in, make, docker_api, console, screenshots_dir
):
    page = signed_in
    # Chromium logs every 4xx response it loads; this one is the point of the test.
    console.expect(r"status of 409")
    [name] = our_names(1)
    container_id = make.container(state="running", command=QUICK_TO_STOP, name=name)["Id"]
    page.on("dialog", lambda dialog: dialog.accept())
    open_list(page, name, rows=1)
    tr = row(page, container_id)

    button(tr, "Remove").click()
    flash = page.locator("#messages .flash.error")
    expect(flash).to_contain_text("Conflict")
    expect(flash).to_contain_text("cannot remove a running container")
    page.screenshot(path=screenshots_dir / "containers-409-light.png")
    expect(tr).to_have_attribute("data-state", "running")
    assert state_of(docker_api, container_id) == "running"
    assert_not_reloaded(page)


@pytest.fixture
def some_of_everything(make) -> dict:
    """Objects of every kind, with the long names, labels and ports real hosts have."""
    network = make.network(unique("net"), driver="bridge", labels={"com.example.team": "web"})
    volume = make.volume(labels={"com.example.backup": "nightly"})
    tag = f"{unique('img')}:v1"
    make.image(tag, f"{unique('img')}-registry.example.com/team/project/app:2024.11.27-build-42")
    running = make.container(
        name=unique("c-web-frontend-with-a-rather-long-name"),
        command=["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done # " + "x" * 80],
        labels={"com.example.service": "web", "com.example.description": "a" * 120},
        binds=[f"{volume['Name']}:/data"],
        port_bindings={80: ("127.0.0.1",), 443: ("127.0.0.1",)},
        network_mode=network["Name"],
    )
    make.container(state="exited", command="false")
    make.container(state="paused")
    make.container(state="created", image=tag)
    return {"container": running}


PAGES = {
    "containers": "/containers/?all=1",
    "images": "/images/",
    "networks": "/networks/",
    "volumes": "/volumes/",
    "system": "/system/",
}


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_renders_cleanly(
    browser, server, console, some_of_everything, screenshots_dir, scheme
):
    """Full-page screenshots under artifacts/screenshots/, to look at; the test itself checks
    that each page loads htmx, logs no error and is no wider than the window."""
    pages = PAGES | {"container-detail": f"/containers/{some_of_everything['container']['Id']}/"}
    page = new_page(browser, server, console, color_scheme=scheme)
    wider_than_window = {}
    try:
        page.goto("/accounts/login/")
        page.screenshot(path=screenshots_dir / f"login-{scheme}.png", full_page=True)
        sign_in(page, server)
        for name, path in pages.items():
            response = page.goto(path)
            assert response is not None and response.status == 200, (path, response)
            page.wait_for_load_state("networkidle")
            assert page.evaluate("() => window.htmx && window.htmx.version") == HTMX_VERSION
            # The create forms are part of the page; the raw JSON would only make it longer.
            page.evaluate(
                "() => document.querySelectorAll('details:not(.raw)').forEach(d => d.open = true)"
            )
            page.screenshot(path=screenshots_dir / f"{name}-{scheme}.png", full_page=True)
            scroll, client = page.evaluate(
                "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            if scroll > client:
                wider_than_window[path] = (scroll, client)
    finally:
        page.context.close()
    assert not wider_than_window, wider_than_window
    assert not console.unexpected(), console.unexpected()
