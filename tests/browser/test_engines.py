"""Several engines in the browser: the engines page with each one's health, the switcher, and
an SSH engine's containers page kept live from that engine's own events."""

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import remote_engines
from tests.browser.test_dashboard import QUICK_TO_STOP, button, row
from tests.conftest import TEST_IMAGE, unique


@pytest.fixture
def ssh_engine(server):
    """The SSH engine ("Web host"), registered on the served Berth for every team; and a dead
    one."""
    with remote_engines(server, "ssh", "Web host") as registered:
        yield registered.slug, registered.dead, registered.api, registered.made


def test_an_ssh_engine_s_list_is_kept_live_from_its_own_events(
    signed_in: Page, ssh_engine, screenshots_dir: Path
):
    page = signed_in
    slug, _, api, made = ssh_engine
    page.goto(f"/engines/{slug}/containers/?all=1")
    expect(page.get_by_label("Engine", exact=True)).to_have_value(slug)

    # Made after the page was drawn: only that engine's events can bring its row.
    name = unique("web")
    container = api.create_container(TEST_IMAGE, command=QUICK_TO_STOP, name=name)
    made.append(container["Id"])
    api.start(container["Id"])
    tr = row(page, container["Id"])
    expect(tr).to_have_attribute("data-state", "running")

    button(tr, "Stop").click()
    expect(tr).to_have_attribute("data-state", "exited")
    assert api.inspect_container(container["Id"])["State"]["Running"] is False
    page.screenshot(path=screenshots_dir / "engine-ssh-containers.png", full_page=True)


def test_the_engines_page_shows_each_engine_s_health_and_the_switcher_goes_to_one(
    signed_in: Page, ssh_engine, screenshots_dir: Path
):
    page = signed_in
    slug, dead, _, _ = ssh_engine
    page.goto("/engines/")

    expect(page.locator(f"#engine-{slug}")).to_have_attribute("data-state", "up")
    expect(page.locator(f"#engine-{dead}")).to_have_attribute("data-state", "down")
    expect(page.locator(f"#engine-{dead}")).to_contain_text("no such file or directory")
    page.screenshot(path=screenshots_dir / "engines.png", full_page=True)

    page.get_by_label("Engine", exact=True).select_option(slug)
    page.wait_for_url(f"**/engines/{slug}/containers/")
    expect(page.locator("h1")).to_have_text("Containers")
