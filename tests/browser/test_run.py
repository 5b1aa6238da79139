"""The run form in chromium: its command line follows what is typed, and -it opens a terminal."""

import re

from playwright.sync_api import expect

from tests.conftest import TEST_IMAGE, unique


def test_the_command_line_follows_the_form_as_it_is_filled(signed_in, screenshots_dir):
    page = signed_in
    page.goto(f"/containers/run/?image={TEST_IMAGE}")
    command = page.locator("#run-command code")
    expect(command).to_have_text(f"docker run -d {TEST_IMAGE}")

    page.locator("#id_env").fill("DB_PASSWORD=hunter2")
    page.locator("#id_publish").fill("8080:80")

    expect(command).to_have_text(
        f"docker run -d -e DB_PASSWORD=hunter2 -p 127.0.0.1:8080:80 {TEST_IMAGE}"
    )
    page.locator("#id_publish").fill("8080-8090:80")
    expect(page.locator("#run-command")).to_contain_text("ranges are not taken")
    page.screenshot(path=screenshots_dir / "run-form.png", full_page=True)


def test_running_with_interactive_and_tty_opens_a_terminal_in_the_container(
    signed_in, make, docker_api
):
    page = signed_in
    name = unique("run")
    make.containers.append(name)
    page.goto(f"/containers/run/?image={TEST_IMAGE}")
    page.locator("#id_name").fill(name)
    page.locator("#id_command").fill("sh")
    page.locator("#id_interactive").check()
    page.locator("#id_tty").check()

    page.get_by_role("button", name="Run", exact=True).click()

    expect(page.locator("#exec-status")).to_have_text("Connected")
    page.locator("#terminal").click()
    page.keyboard.type('echo "out:$((6*7)):end"\n')
    expect(page.locator("#terminal")).to_contain_text(re.compile(r"out:42:end"))
    assert docker_api.inspect_container(name)["Config"]["Tty"] is True
