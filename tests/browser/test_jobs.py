"""A pull in chromium: the run form for an image the engine lacks pulls it first, the job's
page draws its progress live to 100 %, and the container runs."""

import secrets

from playwright.sync_api import expect

from tests.conftest import TEST_IMAGE, unique


def test_running_an_image_the_engine_lacks_shows_the_pull_then_runs_it(
    signed_in, make, docker_api, registry, screenshots_dir
):
    image = f"{registry.address}/{unique('pulled')}:1"
    lines = "\n".join(
        f"RUN head -c 4000000 /dev/urandom > /layer-{n}-{secrets.token_hex(3)}" for n in range(3)
    )
    image_id = make.image(image, dockerfile_line=lines)
    for line in docker_api.push(image, stream=True, decode=True):
        assert "error" not in line, line
    docker_api.remove_image(image_id, force=True)
    make.images.append(image)
    name = unique("run")
    make.containers.append(name)
    page = signed_in

    page.goto(f"/containers/run/?image={TEST_IMAGE}")
    page.locator("#id_image").fill(image)
    page.locator("#id_name").fill(name)
    page.locator("#id_command").fill("sleep 600")
    expect(page.locator("#run-command code")).to_contain_text(f"--name {name}")
    page.get_by_role("button", name="Run", exact=True).click()

    page.wait_for_url("**/jobs/*/")
    expect(page.locator("#job-state")).to_have_text("done")
    expect(page.locator("#job-bar")).to_have_js_property("value", 100)
    expect(page.locator("#job-percent")).to_have_text("100 %")
    expect(page.locator("#job-result")).to_contain_text(f"Started container {name}")
    expect(page.locator("#job-layers tbody tr")).to_have_count(4)  # busybox's and three
    expect(page.locator("#job-layers")).to_contain_text("Pull complete")
    page.screenshot(path=screenshots_dir / "job-pull-then-run.png", full_page=True)
    assert docker_api.inspect_container(name)["State"]["Running"]


def test_the_jobs_page_lists_the_pull(signed_in, registry, make, docker_api):
    image = f"{registry.address}/{unique('listed')}:1"
    image_id = make.image(image)
    for line in docker_api.push(image, stream=True, decode=True):
        assert "error" not in line, line
    docker_api.remove_image(image_id, force=True)
    make.images.append(image)
    page = signed_in

    page.goto("/images/pull/")
    page.get_by_label("Image").fill(image)
    page.get_by_role("button", name="Pull").click()
    expect(page.locator("#job-state")).to_have_text("done")
    expect(page.locator("#job-result")).to_contain_text("digest sha256:")
    page.goto("/jobs/")

    expect(page.locator("table.jobs tbody tr").first).to_contain_text(f"pull {image}")
    expect(page.locator("table.jobs tbody tr").first).to_contain_text("done")
