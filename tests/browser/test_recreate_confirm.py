"""A recreate onto an image its name now names, made by another team or by nobody Berth knows
of, asks first, in chromium: the page says what changed and offers to go on or go back."""

import re

from playwright.sync_api import expect

from tests.conftest import STOPPABLE, unique


def test_a_recreate_onto_a_moved_image_name_asks_and_goes_on_when_confirmed(
    signed_in, console, make, docker_api, screenshots_dir
):
    page = signed_in
    # The question is answered 409: nothing was done yet.
    console.expected.append(re.compile(r"status of 409 \(Conflict\).*/recreate/"))
    page.on("dialog", lambda dialog: dialog.accept())
    name = f"{unique('moved')}:1"
    make.image(name)
    container = make.container(image=name, command=STOPPABLE)
    repository, tag = name.split(":")
    docker_api.tag(make.image(), repository, tag)  # moved outside Berth

    page.goto(f"/containers/{container['Id']}/")
    page.get_by_role("button", name="Recreate", exact=True).click()

    expect(page.locator("h1")).to_contain_text("onto another image?")
    expect(page.locator(".reason")).to_contain_text("made or brought by nobody Berth knows of")
    page.screenshot(path=screenshots_dir / "recreate-confirm.png", full_page=True)
    page.get_by_role("button", name="Recreate onto it anyway").click()
    page.wait_for_url("**/jobs/*/")
    expect(page.locator("#job-state")).to_have_text("done", timeout=60_000)
    make.containers.append(container["Name"].lstrip("/"))
    again = docker_api.inspect_container(container["Name"].lstrip("/"))
    assert again["Id"] != container["Id"]
