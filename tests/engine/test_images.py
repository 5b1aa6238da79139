"""The image pages against the private engine: `docker images`, `history`, `inspect` and `rmi`."""

import asyncio
import io
import json
import re
import secrets
import tarfile

import docker
import pytest
from django.template.defaultfilters import filesizeformat
from django.test import AsyncClient
from django.utils.html import escape

from containers_app.models import AuditEntry
from tests.conftest import made_by, unique
from tests.engine.markup import data_ids, flash, page, row, shows


def exists(docker_api, image_id: str) -> bool:
    try:
        docker_api.inspect_image(image_id)
    except docker.errors.NotFound:
        return False
    return True


def tags_of(docker_api, image_id: str) -> list[str]:
    return sorted(docker_api.inspect_image(image_id).get("RepoTags") or [])


def short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


def dangling_image(make) -> str:
    """An image that lost its only tag to a newer build of the same tag."""
    tag = f"{unique('img')}:v1"
    first = make.image(tag)
    make.image(tag)
    return first


# The list: docker images


def test_it_lists_an_image_with_all_its_tags_short_id_created_and_size(
    admin_client, make, docker_api
):
    repository = unique("img")
    image_id = make.image(f"{repository}:v1", f"{repository}:v2", f"{unique('img')}:latest")

    response = admin_client.get("/images/")

    assert response.status_code == 200
    markup = row(response, image_id)
    assert markup, f"no row for {image_id}"
    for tag in tags_of(docker_api, image_id):
        assert f'<div class="mono">{tag}</div>' in markup
    assert f">{short(image_id)}</a>" in markup
    assert f'href="/images/{image_id}/"' in markup
    assert re.search(r"\d+\s+minutes? ago", markup)
    assert escape(filesizeformat(docker_api.inspect_image(image_id)["Size"])) in markup
    assert "docker images" in page(response)


def test_it_names_the_containers_using_an_image(admin_client, make):
    tag = f"{unique('img')}:v1"
    image_id = make.image(tag)
    running = make.container(image=tag)
    stopped = make.container(image=tag, state="exited")

    markup = row(admin_client.get("/images/"), image_id)

    for container in (running, stopped):
        assert f'<span class="badge in-use">{container["Name"].lstrip("/")}</span>' in markup


def test_it_shows_an_unused_image_as_used_by_no_container(admin_client, make):
    image_id = make.image(f"{unique('img')}:v1")

    markup = row(admin_client.get("/images/"), image_id)

    assert "badge in-use" not in markup


def test_it_shows_only_dangling_images_when_asked(admin_client, make):
    dangling = dangling_image(make)
    tagged = make.image(f"{unique('img')}:v1")

    response = admin_client.get("/images/?dangling=1")

    assert response.status_code == 200
    assert row(response, dangling)
    assert row(response, tagged) is None
    for image_id in data_ids(response):
        assert "&lt;none&gt;:&lt;none&gt;" in row(response, image_id)
        assert '<div class="mono">' not in row(response, image_id)
    assert shows(response, "docker images --filter dangling=true")


def test_it_lists_dangling_and_tagged_images_together_by_default(admin_client, make):
    dangling = dangling_image(make)
    tagged = make.image(f"{unique('img')}:v1")

    response = admin_client.get("/images/")

    assert row(response, dangling) and row(response, tagged)
    assert "--filter" not in page(response)


def test_it_sends_htmx_only_the_rows_with_the_new_command(admin_client, make, htmx):
    dangling = dangling_image(make)

    response = admin_client.get("/images/?dangling=1", HTTP_HX_TARGET="rows", **htmx)

    assert response.status_code == 200
    assert page(response).startswith('<tbody id="rows">')
    assert "<html" not in page(response)
    assert row(response, dangling)
    assert (
        '<code class="cli" id="list-command" hx-swap-oob="true">'
        "docker images --filter dangling=true</code>"
    ) in page(response)
    assert "HX-Request" in response["Vary"]


# Removing: docker rmi


def test_it_removes_an_unused_image(admin_client, make, docker_api, htmx):
    tag = f"{unique('img')}:v1"
    image_id = make.image(tag)

    response = admin_client.post(f"/images/{image_id}/remove/", **htmx)

    assert response.status_code == 200
    assert not exists(docker_api, image_id)
    message = flash(response)
    assert message.startswith(escape(f"docker rmi {short(image_id)}: "))
    assert escape(f"Untagged: {tag}") in message
    assert escape(f"Deleted: {image_id}") in message
    # The row the button was in is replaced by nothing: the reply is only the flash.
    assert '<div id="messages" hx-swap-oob="innerHTML"' in page(response)
    assert "<tr" not in page(response)
    assert AuditEntry.objects.filter(
        action="rmi", object_id=image_id, command=f"docker rmi {short(image_id)}", succeeded=True
    ).exists()


def test_it_removes_an_image_from_a_plain_form_and_redirects_with_the_message(
    admin_client, make, docker_api
):
    image_id = make.image(f"{unique('img')}:v1")

    response = admin_client.post(f"/images/{image_id}/remove/")

    assert response.status_code == 302
    assert response["Location"] == "/images/"
    assert not exists(docker_api, image_id)
    listed = admin_client.get(response["Location"])
    assert shows(listed, f"docker rmi {short(image_id)}: ")
    assert row(listed, image_id) is None


def test_it_follows_a_next_on_this_site_but_not_elsewhere(admin_client, make):
    first = make.image(f"{unique('img')}:v1")
    second = make.image(f"{unique('img')}:v1")

    here = admin_client.post(f"/images/{first}/remove/", {"next": "/images/?dangling=1"})
    away = admin_client.post(f"/images/{second}/remove/", {"next": "https://example.com/x"})

    assert here["Location"] == "/images/?dangling=1"
    assert away["Location"] == "/images/"


def test_it_refuses_to_remove_an_image_a_container_uses_without_force(
    admin_client, make, docker_api
):
    tag = f"{unique('img')}:v1"
    image_id = make.image(tag)
    container = make.container(image=tag, state="exited")

    response = admin_client.post(f"/images/{image_id}/remove/")

    assert response.status_code == 409
    assert "must be forced" in page(response)
    assert f"image is being used by stopped container {container['Id'][:12]}" in page(response)
    assert exists(docker_api, image_id)
    assert AuditEntry.objects.filter(object_id=image_id, succeeded=False).exists()


def test_it_refuses_with_a_flash_to_htmx_and_swaps_nothing(admin_client, make, docker_api, htmx):
    tag = f"{unique('img')}:v1"
    image_id = make.image(tag)
    make.container(image=tag)

    response = admin_client.post(f"/images/{image_id}/remove/", **htmx)

    assert response.status_code == 409
    assert response["HX-Reswap"] == "none"
    assert "image is being used by running container" in flash(response)
    assert exists(docker_api, image_id)


def test_it_refuses_to_remove_an_image_with_several_tags_without_force(
    admin_client, make, docker_api
):
    repository = unique("img")
    image_id = make.image(f"{repository}:v1", f"{repository}:v2")

    response = admin_client.post(f"/images/{image_id}/remove/")

    assert response.status_code == 409
    assert "image is referenced in multiple repositories" in page(response)
    assert tags_of(docker_api, image_id) == [f"{repository}:v1", f"{repository}:v2"]


def test_it_force_removes_an_image_with_several_tags(admin_client, make, docker_api, htmx):
    repository = unique("img")
    image_id = make.image(f"{repository}:v1", f"{repository}:v2")

    response = admin_client.post(f"/images/{image_id}/remove/", {"force": "1"}, **htmx)

    assert response.status_code == 200
    assert not exists(docker_api, image_id)
    message = flash(response)
    assert message.startswith(escape(f"docker rmi -f {short(image_id)}: "))
    assert escape(f"Untagged: {repository}:v1") in message
    assert escape(f"Untagged: {repository}:v2") in message


def test_it_force_removes_an_image_a_stopped_container_uses(admin_client, make, docker_api):
    tag = f"{unique('img')}:v1"
    image_id = make.image(tag)
    make.container(image=tag, state="exited")

    response = admin_client.post(f"/images/{image_id}/remove/", {"force": "1"})

    assert response.status_code == 302
    assert not exists(docker_api, image_id)


def test_it_shows_the_engines_reason_when_even_force_cannot_remove(admin_client, make, docker_api):
    tag = f"{unique('img')}:v1"
    image_id = make.image(tag)
    make.container(image=tag)

    response = admin_client.post(f"/images/{image_id}/remove/", {"force": "1"})

    assert response.status_code == 409
    assert "cannot be forced" in page(response)
    assert exists(docker_api, image_id)


def test_it_untags_one_tag_and_leaves_the_image_with_its_others(admin_client, make, docker_api):
    repository = unique("img")
    image_id = make.image(f"{repository}:v1", f"{repository}:v2")

    response = admin_client.post(f"/images/{image_id}/remove/", {"tag": f"{repository}:v1"})

    assert response.status_code == 302
    assert response["Location"] == f"/images/{image_id}/"
    assert tags_of(docker_api, image_id) == [f"{repository}:v2"]
    detail = admin_client.get(response["Location"])
    assert shows(detail, f"docker rmi {repository}:v1: Untagged: {repository}:v1")
    assert f'data-tag="{repository}:v2"' in page(detail)
    assert f'data-tag="{repository}:v1"' not in page(detail)


def test_it_untags_with_htmx_and_answers_with_the_flash(admin_client, make, docker_api, htmx):
    repository = unique("img")
    image_id = make.image(f"{repository}:v1", f"{repository}:v2")

    response = admin_client.post(f"/images/{image_id}/remove/", {"tag": f"{repository}:v2"}, **htmx)

    assert response.status_code == 200
    assert flash(response) == escape(f"docker rmi {repository}:v2: Untagged: {repository}:v2")
    assert tags_of(docker_api, image_id) == [f"{repository}:v1"]


def test_it_deletes_the_image_when_its_last_tag_is_removed(admin_client, make, docker_api):
    tag = f"{unique('img')}:v1"
    image_id = make.image(tag)

    response = admin_client.post(f"/images/{image_id}/remove/", {"tag": tag})

    assert response.status_code == 302
    # The image is gone, so the list is where the form leads, not its page.
    assert response["Location"] == "/images/"
    assert not exists(docker_api, image_id)


@pytest.mark.parametrize("bad", ["-v1", "repo tag", "repo:v1;rm", "a" * 256])
def test_it_rejects_a_bad_tag_with_400_and_changes_nothing(admin_client, make, docker_api, bad):
    repository = unique("img")
    image_id = make.image(f"{repository}:v1", f"{repository}:v2")

    response = admin_client.post(f"/images/{image_id}/remove/", {"tag": bad})

    assert response.status_code == 400
    assert "Nothing was done" in page(response)
    assert tags_of(docker_api, image_id) == [f"{repository}:v1", f"{repository}:v2"]


def test_it_answers_404_for_a_tag_no_image_has(admin_client, make, docker_api):
    image_id = make.image(f"{unique('img')}:v1")

    response = admin_client.post(f"/images/{image_id}/remove/", {"tag": f"{unique('img')}:v9"})

    assert response.status_code == 404
    assert exists(docker_api, image_id)


def test_it_refuses_to_untag_a_tag_of_another_image(admin_client, make, docker_api):
    mine = make.image(f"{unique('img')}:v1")
    other_tag = f"{unique('img')}:v1"
    other = make.image(other_tag)

    response = admin_client.post(f"/images/{mine}/remove/", {"tag": other_tag})

    assert response.status_code == 400
    assert shows(response, f"{other_tag} is not a tag of image {short(mine)}.")
    assert tags_of(docker_api, other) == [other_tag]
    assert exists(docker_api, mine)


def test_it_answers_404_to_removing_an_unknown_image(admin_client):
    response = admin_client.post(f"/images/{secrets.token_hex(32)}/remove/")

    assert response.status_code == 404


def test_it_only_removes_on_post(admin_client, make, docker_api):
    image_id = make.image(f"{unique('img')}:v1")

    response = admin_client.get(f"/images/{image_id}/remove/")

    assert response.status_code == 405
    assert exists(docker_api, image_id)


# The detail page: docker image inspect and docker history


def test_it_shows_an_image_with_its_tags_history_and_raw_json(admin_client, make, docker_api):
    repository = unique("img")
    image_id = make.image(f"{repository}:v1", f"{repository}:v2")
    user = make.container(image=f"{repository}:v1", state="exited")

    response = admin_client.get(f"/images/{image_id}/")

    assert response.status_code == 200
    content = page(response)
    assert image_id in content
    for tag in (f"{repository}:v1", f"{repository}:v2"):
        assert f'<tr data-tag="{tag}">' in content
        assert shows(response, f"docker rmi {tag}")
    assert f'<span class="badge in-use">{user["Name"].lstrip("/")}</span>' in content
    history = docker_api.history(image_id)
    assert len(history) >= 2
    table = re.search(r'<table class="list compact history">.*?</table>', content, re.S).group(0)
    assert table.count("<tr>") == len(history) + 1  # and the header row
    for layer in history:
        assert escape(layer["CreatedBy"]) in table
    assert short(image_id) in table
    assert shows(response, f'"Id": "{image_id}"')
    assert shows(response, f"docker image inspect {short(image_id)}")
    assert shows(response, f"docker history {short(image_id)}")
    assert shows(response, f"docker rmi -f {short(image_id)}")


def test_it_shows_an_image_by_its_short_id(admin_client, make):
    image_id = make.image(f"{unique('img')}:v1")

    response = admin_client.get(f"/images/{short(image_id)}/")

    assert response.status_code == 200
    assert image_id in page(response)


def test_it_shows_a_dangling_image_as_having_no_tag(admin_client, make):
    image_id = dangling_image(make)

    response = admin_client.get(f"/images/{image_id}/")

    assert response.status_code == 200
    assert "Dangling: this image has no tag." in page(response)
    assert "data-tag=" not in page(response)


def test_it_answers_404_for_an_unknown_image(admin_client):
    assert admin_client.get(f"/images/{secrets.token_hex(32)}/").status_code == 404
    assert admin_client.get(f"/images/sha256:{secrets.token_hex(32)}/").status_code == 404
    assert admin_client.get("/images/not-an-image-id/").status_code == 404


# Who may see and do what


def test_it_sends_anonymous_visitors_to_sign_in(client, make, docker_api):
    image_id = make.image(f"{unique('img')}:v1")

    for response in (
        client.get("/images/"),
        client.get(f"/images/{image_id}/"),
        client.post(f"/images/{image_id}/remove/", {"force": "1"}),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=/images/")
    assert exists(docker_api, image_id)


def test_it_shows_a_viewer_the_images_without_remove_controls(viewer_client, make):
    repository = unique("img")
    image_id = make.image(f"{repository}:v1", f"{repository}:v2")

    listed = viewer_client.get("/images/")
    detail = viewer_client.get(f"/images/{image_id}/")

    assert listed.status_code == detail.status_code == 200
    assert row(listed, image_id)
    assert "docker images" in page(listed)
    assert "hx-post" not in page(listed)
    assert "/remove/" not in page(listed)
    assert f'<tr data-tag="{repository}:v1">' in page(detail)
    assert "/remove/" not in page(detail)
    assert "Untag</button>" not in page(detail)


def test_it_forbids_a_viewer_to_remove_or_untag(viewer_client, make, docker_api, htmx):
    repository = unique("img")
    image_id = make.image(f"{repository}:v1", f"{repository}:v2")

    for data in ({}, {"force": "1"}, {"tag": f"{repository}:v1"}):
        assert viewer_client.post(f"/images/{image_id}/remove/", data).status_code == 403
        assert viewer_client.post(f"/images/{image_id}/remove/", data, **htmx).status_code == 403
    assert tags_of(docker_api, image_id) == [f"{repository}:v1", f"{repository}:v2"]
    # Nothing done, so no change in the trail: only the refused attempts.
    assert not AuditEntry.objects.filter(denied=False).exists()


def test_a_viewer_sees_an_images_secret_environment_masked_and_staff_sees_it(
    viewer_client, staff_client, make
):
    image_id = make.image(dockerfile_line="ENV DB_PASSWORD=hunter2 PLAIN=visible")
    made_by(image_id)  # the home team's: its admins see its values
    url = f"/images/{image_id}/"

    viewer = viewer_client.get(url).content.decode()
    staff = staff_client.get(url).content.decode()

    # Nowhere: not in the environment list, the raw inspect JSON or the history's build steps.
    assert "hunter2" not in viewer
    assert "DB_PASSWORD=••••••" in viewer
    assert "PLAIN=visible" in viewer
    assert "DB_PASSWORD=hunter2" in staff


# docker tag


def test_it_tags_an_image_and_shows_the_command(admin_client, make, docker_api, htmx):
    image_id = make.image(f"{unique('img')}:v1")
    target = f"{unique('tagged')}:release"

    response = admin_client.post(f"/images/{image_id}/tag/", {"target": target}, **htmx)

    assert response.status_code == 200
    assert f"docker tag {short(image_id)} {target}" in flash(response)
    assert target in tags_of(docker_api, image_id)
    entry = AuditEntry.objects.get(action="tag", target=target)
    assert entry.succeeded and entry.command == f"docker tag {short(image_id)} {target}"


def test_a_target_without_a_tag_means_latest_as_the_cli_says(admin_client, make, docker_api):
    image_id = make.image(f"{unique('img')}:v1")
    repository = f"localhost:5000/team/{unique('tagged')}"

    admin_client.post(f"/images/{image_id}/tag/", {"target": repository})

    assert f"{repository}:latest" in tags_of(docker_api, image_id)


@pytest.mark.parametrize("target", ["Upper/Case", "two words", "name@sha256:abc", "", "a:b:c"])
def test_it_refuses_a_target_that_is_not_a_reference_and_tags_nothing(
    admin_client, make, docker_api, target
):
    tag = f"{unique('img')}:v1"
    image_id = make.image(tag)

    response = admin_client.post(f"/images/{image_id}/tag/", {"target": target})

    assert response.status_code == 400
    assert tags_of(docker_api, image_id) == [tag]


def test_tagging_an_unknown_image_is_not_found_and_recorded(admin_client):
    response = admin_client.post("/images/0123456789ab/tag/", {"target": "x:y"})

    assert response.status_code == 404
    assert not AuditEntry.objects.get(action="tag", target="0123456789ab").succeeded


# docker image prune


def test_prune_removes_dangling_images_and_keeps_tagged_ones(admin_client, make, docker_api):
    dangling = dangling_image(make)
    tagged = make.image(f"{unique('img')}:v1")

    response = admin_client.post("/images/prune/", follow=True)

    assert response.status_code == 200
    assert not exists(docker_api, dangling)
    assert exists(docker_api, tagged)
    assert "docker image prune --force: removed" in page(response)
    assert "reclaimed" in page(response)
    assert AuditEntry.objects.get(action="image prune").command == "docker image prune --force"


def test_prune_all_removes_unused_images_but_not_those_a_container_uses(
    admin_client, make, docker_api
):
    used = make.image(f"{unique('img')}:v1")
    make.container(image=used, state="exited")
    make.container(state="exited")  # keeps the test image itself in use
    unused = make.image(f"{unique('img')}:v1")

    response = admin_client.post("/images/prune/", {"all": "1"}, follow=True)

    assert response.status_code == 200
    assert not exists(docker_api, unused)
    assert exists(docker_api, used)
    assert "docker image prune --force --all" in page(response)


# docker save


async def saved(person, url: str) -> tuple[object, bytes]:
    """The response to a download through the ASGI handler, and its body."""
    client = AsyncClient()
    await client.aforce_login(person)
    response = await client.get(url)
    body = b"".join([block async for block in response.streaming_content])
    return response, body


@pytest.mark.django_db(transaction=True)  # the handler's threads see the session
async def test_save_streams_the_image_as_the_tar_docker_save_writes(make, staff_user):
    image_id = await asyncio.to_thread(make.image, f"{unique('img')}:v1")
    await asyncio.to_thread(made_by, image_id)

    response, body = await saved(staff_user, f"/images/{image_id}/save/")

    assert response.status_code == 200
    assert response.is_async  # Django would read a synchronous iterator whole first
    assert response["Content-Type"] == "application/x-tar"
    assert f'filename="{short(image_id)}.tar"' in response["Content-Disposition"]
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest[0]["Config"].startswith(image_id.removeprefix("sha256:"))


@pytest.mark.django_db(transaction=True)
async def test_saving_an_unknown_image_is_not_found(staff_user):
    client = AsyncClient()
    await client.aforce_login(staff_user)

    response = await client.get("/images/0123456789ab/save/")

    assert response.status_code == 404
