"""A compose application deployed from its page in chromium, and the pages that show it."""

import re

from playwright.sync_api import expect

from tests.conftest import TEST_IMAGE

COMPOSE = f"""services:
  web:
    image: {TEST_IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
    environment:
      GREETING: ${{GREETING}}
  worker:
    image: {TEST_IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
"""


def test_an_application_is_deployed_from_the_page_and_shown(signed_in, projects, screenshots_dir):
    page = signed_in
    name = projects.new()
    page.goto("/apps/new/")
    page.locator("#id_name").fill(name)
    page.locator("#id_compose").fill(COMPOSE)
    page.locator("#id_env").fill("GREETING=hello\n")
    page.screenshot(path=screenshots_dir / "apps-new.png", full_page=True)
    page.get_by_role("button", name="Deploy").click()

    expect(page.locator("#job-state")).to_have_text("done", timeout=60_000)
    page.get_by_role("link", name=f"Back to application {name}").click()
    expect(page.locator("h1")).to_contain_text(name)
    expect(page.locator("h1 .badge")).to_have_text("running")
    services = page.locator("table.services tbody tr")
    expect(services).to_have_count(2)
    expect(page.locator("table.revisions tbody tr")).to_have_count(1)
    expect(page.locator("table.revisions")).to_contain_text("deployed")
    page.screenshot(path=screenshots_dir / "apps-detail.png", full_page=True)

    # A container's own buttons lead back here.
    worker = page.locator('tr[data-id="worker"]')
    worker.get_by_role("button", name="Stop").click()
    expect(page.locator('tr[data-id="worker"] .badge')).to_have_text("exited")
    expect(page.locator("h1 .badge")).to_have_text("partly running")
    expect(page).to_have_url(re.compile(f"/engines/local/apps/{name}/$"))

    page.goto("/apps/")
    row = page.locator(f'tr[data-id="local/{name}"]')
    expect(row).to_contain_text("1 running / 2")
    expect(row).to_contain_text("partly running")
    expect(row).to_contain_text(re.compile("deployed by Berth"))
    page.screenshot(path=screenshots_dir / "apps-list.png", full_page=True)
