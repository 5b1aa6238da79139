"""Several engines in the browser: the engines page with each one's health, the switcher, and
an SSH engine's containers page kept live from that engine's own events."""

import os
import subprocess
import sys
from pathlib import Path

import docker
import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_dashboard import QUICK_TO_STOP, button, row
from tests.conftest import TEST_IMAGE, remote_engine, unique
from tests.served import ROOT


def manage(server, *args: str) -> None:
    """A manage.py command on the served Berth's own data folder."""
    env = {**os.environ, "BERTH_DATA_DIR": str(server.log.parent)}
    env.pop("BERTH_DATABASE", None)
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


@pytest.fixture
def ssh_engine(server):
    """The SSH engine, registered on the served Berth for every team; and a dead one."""
    slug, dead = unique("ssh"), unique("dead")
    manage(server, "engines", "add", slug, remote_engine("SSH_HOST"), "--name", "Web host",
           "--ssh-key", remote_engine("SSH_KEY"), "--ssh-host-key", remote_engine("SSH_HOST_KEY"),
           "--every-team")  # fmt: skip
    manage(server, "engines", "add", dead, f"unix:///nonexistent/{dead}.sock", "--every-team")
    api = docker.APIClient(base_url=remote_engine("SSH_SOCKET"), version="auto", timeout=60)
    made: list[str] = []
    yield slug, dead, api, made
    for container_id in made:
        api.remove_container(container_id, force=True)
    api.close()
    manage(server, "engines", "remove", slug)
    manage(server, "engines", "remove", dead)


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
