"""Images on a host shared by teams, against the private engine: everyone sees them, a team's
admin adds them and removes one only while no other team's container (nor one of no team)
uses it, a superuser removes any and prunes."""

import io
import tarfile

import docker
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from containers_app import credentials
from containers_app.models import AuditEntry, Job, RegistryCredential
from tests.conftest import HOME_TEAM, OTHER_TEAM, client_of, made_by, member, unique
from tests.engine.markup import page, row, shows


def exists(docker_api, image_id: str) -> bool:
    try:
        docker_api.inspect_image(image_id)
    except docker.errors.NotFound:
        return False
    return True


def name_of(container: dict) -> str:
    return container["Name"].lstrip("/")


@pytest.fixture
def two_teams_admin_client(db) -> Client:
    """An admin of the home team and of the other team both."""
    from containers_app.models import Membership, Team

    user = member(unique("both"), HOME_TEAM, "admin")
    other, _ = Team.objects.get_or_create(slug=OTHER_TEAM, defaults={"name": OTHER_TEAM})
    Membership.objects.create(user=user, team=other, role="admin")
    return client_of(user)


# Removing an image a container uses


def test_a_team_admin_removes_an_image_only_their_teams_containers_use(
    staff_client, make, docker_api
):
    tag = f"{unique('img')}:v1"
    image_id = make.image(tag)
    make.container(image=tag, state="exited")  # of the home team, which staff administers

    response = staff_client.post(f"/images/{image_id}/remove/", {"force": "1"})

    assert response.status_code == 302, page(response)
    assert not exists(docker_api, image_id)
    entry = AuditEntry.objects.get(action="rmi", object_id=image_id)
    assert entry.succeeded and not entry.denied


def test_a_team_admin_removes_an_image_no_container_uses(staff_client, make, docker_api):
    image_id = make.image(f"{unique('img')}:v1")

    response = staff_client.post(f"/images/{image_id}/remove/")

    assert response.status_code == 302, page(response)
    assert not exists(docker_api, image_id)


def test_a_team_admin_may_not_remove_an_image_another_teams_container_uses(
    staff_client, make, docker_api
):
    tag = f"{unique('img')}:v1"
    image_id = make.image(tag)
    theirs = make.container(image=tag, state="exited", team=OTHER_TEAM)

    response = staff_client.post(f"/images/{image_id}/remove/", {"force": "1"})

    assert response.status_code == 403
    assert "used by a container of another team" in page(response)
    assert name_of(theirs) not in page(response)
    assert theirs["Id"][:12] not in page(response)
    assert OTHER_TEAM not in page(response)
    assert exists(docker_api, image_id)
    entry = AuditEntry.objects.get(action="rmi")
    assert entry.denied and not entry.succeeded
    assert entry.object_id == image_id
    assert entry.command == f"docker rmi -f {image_id.removeprefix('sha256:')[:12]}"
    assert "used by a container of another team" in entry.message
    assert name_of(theirs) not in entry.message


def test_a_team_admin_may_not_remove_an_image_a_container_of_no_team_uses(
    staff_client, make, docker_api
):
    tag = f"{unique('img')}:v1"
    image_id = make.image(tag)
    make.container(image=tag, state="exited")  # the home team's own: not what stops it
    unowned = make.container(image=tag, state="exited", team=None)

    response = staff_client.post(f"/images/{image_id}/remove/", {"force": "1"})

    assert response.status_code == 403
    assert "used by a container of no team: only a superuser may remove it" in page(response)
    assert name_of(unowned) not in page(response)
    assert exists(docker_api, image_id)
    entry = AuditEntry.objects.get(action="rmi")
    assert entry.denied and "of no team" in entry.message


def test_a_team_admin_may_not_untag_an_image_another_teams_container_uses(
    staff_client, make, docker_api
):
    repository = unique("img")
    image_id = make.image(f"{repository}:v1", f"{repository}:v2")
    make.container(image=image_id, state="exited", team=OTHER_TEAM)

    response = staff_client.post(f"/images/{image_id}/remove/", {"tag": f"{repository}:v1"})

    assert response.status_code == 403
    assert "used by a container of another team" in page(response)
    assert sorted(docker_api.inspect_image(image_id)["RepoTags"]) == [
        f"{repository}:v1",
        f"{repository}:v2",
    ]
    assert AuditEntry.objects.get(action="rmi").target == f"{repository}:v1"


def test_an_admin_of_every_team_using_an_image_may_remove_it(
    two_teams_admin_client, make, docker_api
):
    tag = f"{unique('img')}:v1"
    image_id = make.image(tag)
    make.container(image=tag, state="exited")
    make.container(image=tag, state="exited", team=OTHER_TEAM)

    response = two_teams_admin_client.post(f"/images/{image_id}/remove/", {"force": "1"})

    assert response.status_code == 302, page(response)
    assert not exists(docker_api, image_id)


def test_a_superuser_removes_an_image_other_teams_and_no_teams_containers_use(
    admin_client, make, docker_api
):
    tag = f"{unique('img')}:v1"
    image_id = make.image(tag)
    make.container(image=tag, state="exited", team=OTHER_TEAM)
    make.container(image=tag, state="exited", team=None)

    response = admin_client.post(f"/images/{image_id}/remove/", {"force": "1"})

    assert response.status_code == 302, page(response)
    assert not exists(docker_api, image_id)
    assert AuditEntry.objects.get(action="rmi", object_id=image_id).succeeded


@pytest.mark.parametrize("who", ["viewer_client", "operator_client"])
def test_a_viewer_or_operator_may_not_remove_an_image(request, who, make, docker_api):
    image_id = make.image(f"{unique('img')}:v1")

    response = request.getfixturevalue(who).post(f"/images/{image_id}/remove/")

    assert response.status_code == 403
    assert exists(docker_api, image_id)
    assert not AuditEntry.objects.filter(denied=False).exists()


# What the pages offer to whom


def test_the_list_offers_removal_only_of_images_the_team_admin_may_remove(staff_client, make):
    ours_tag, theirs_tag = f"{unique('img')}:v1", f"{unique('img')}:v1"
    ours = make.image(ours_tag)
    theirs = make.image(theirs_tag)
    make.container(image=ours_tag, state="exited")
    make.container(image=theirs_tag, state="exited", team=OTHER_TEAM)

    listed = staff_client.get("/images/")

    assert f'hx-post="/images/{ours}/remove/"' in row(listed, ours)
    assert "/remove/" not in row(listed, theirs)
    assert shows(listed, "Pull") and 'href="/images/build/"' in page(listed)
    assert "/images/prune/" not in page(listed)


def test_another_teams_admin_sees_the_images_but_not_the_home_teams_container_names(
    other_admin_client, make
):
    tag = f"{unique('img')}:v1"
    image_id = make.image(tag)
    ours = make.container(image=tag, state="exited")

    listed = other_admin_client.get("/images/")
    detail = other_admin_client.get(f"/images/{image_id}/")

    assert listed.status_code == detail.status_code == 200
    markup = row(listed, image_id)
    assert markup and tag in markup
    assert name_of(ours) not in page(listed)
    assert "1 other container you may not see" in markup
    assert "/remove/" not in markup
    assert tag in page(detail)
    assert name_of(ours) not in page(detail)
    assert "1 other container you may not see" in page(detail)
    assert f"/images/{image_id}/remove/" not in page(detail)


def test_the_home_teams_admin_sees_the_names_of_the_teams_containers(staff_client, make):
    tag = f"{unique('img')}:v1"
    image_id = make.image(tag)
    ours = make.container(image=tag, state="exited")

    markup = row(staff_client.get("/images/"), image_id)

    assert f'<span class="badge in-use">{name_of(ours)}</span>' in markup
    assert "you may not see" not in markup


def test_an_operator_sees_images_without_adding_or_removing_controls(operator_client, make):
    image_id = make.image(f"{unique('img')}:v1", dockerfile_line="ENV API_TOKEN=s3cr3t")

    listed = operator_client.get("/images/")
    detail = operator_client.get(f"/images/{image_id}/")

    assert listed.status_code == detail.status_code == 200
    for response in (listed, detail):
        for control in ("/remove/", "/images/pull/", "/images/build/", "/images/load/", "/tag/"):
            assert control not in page(response), control
    assert "/save/" not in page(detail)
    # Its secret values are for those who may save it (and so read its layers) anyway.
    assert "s3cr3t" not in page(detail)


# Adding images: pull, build, load, tag, push


@pytest.mark.parametrize("who", ["viewer_client", "operator_client"])
def test_a_viewer_or_operator_is_refused_a_pull_and_it_is_recorded(request, who):
    client = request.getfixturevalue(who)

    form = client.get("/images/pull/")
    response = client.post("/images/pull/", {"reference": "busybox:latest"})

    assert form.status_code == 403
    assert response.status_code == 403
    assert not Job.objects.exists()
    assert AuditEntry.objects.filter(denied=True).exists()
    assert not AuditEntry.objects.filter(denied=False).exists()


def a_tar(name: str = "context.tar") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        data = b"FROM scratch\n"
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/x-tar")


def test_an_operator_is_refused_tag_push_build_and_load_and_no_upload_is_kept(
    operator_client, make, docker_api, settings, tmp_path
):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    tag = f"{unique('img')}:v1"
    image_id = make.image(tag)
    new_tag = f"{unique('img')}:v2"

    tagged = operator_client.post(f"/images/{image_id}/tag/", {"target": new_tag})
    pushed = operator_client.post(f"/images/{image_id}/push/", {"reference": new_tag})
    built = operator_client.post("/images/build/", {"context": a_tar(), "tag": new_tag})
    loaded = operator_client.post("/images/load/", {"input": a_tar("saved.tar")})

    assert [r.status_code for r in (tagged, pushed, built, loaded)] == [403] * 4
    assert docker_api.inspect_image(image_id)["RepoTags"] == [tag]
    assert not Job.objects.exists()
    assert not list(tmp_path.iterdir())
    refused = AuditEntry.objects.filter(denied=True)
    assert sorted(refused.values_list("action", flat=True)) == ["build", "load", "push", "tag"]


def test_another_teams_admin_may_tag_an_image_the_home_team_uses(
    other_admin_client, make, docker_api
):
    tag = f"{unique('img')}:v1"
    image_id = make.image(tag)
    make.container(image=tag, state="exited")
    new_tag = f"{unique('img')}:v2"

    response = other_admin_client.post(f"/images/{image_id}/tag/", {"target": new_tag})

    assert response.status_code == 302
    assert new_tag in docker_api.inspect_image(image_id)["RepoTags"]


# The host's own: prune and save


def test_a_team_admin_may_not_prune(staff_client, make, docker_api):
    # A superuser's prune is tested in test_images.py.
    tag = f"{unique('img')}:v1"
    dangling = make.image(tag)
    make.image(tag)  # takes the tag: the first is dangling now

    refused = staff_client.post("/images/prune/")

    assert refused.status_code == 403
    assert "Only a superuser may do this." in page(refused)
    assert AuditEntry.objects.get(action="image prune").denied
    assert exists(docker_api, dangling)


def test_another_team_may_not_save_an_image_the_home_team_made(
    operator_client, other_admin_client, make
):
    image_id = make.image(f"{unique('img')}:v1")
    made_by(image_id, HOME_TEAM)

    response = other_admin_client.get(f"/images/{image_id}/save/")
    own = operator_client.get(f"/images/{image_id}/save/")

    assert response.status_code == 403
    assert AuditEntry.objects.get(denied=True).message.startswith("Only the teams that made")
    assert own.status_code == 200
    own.close()


def test_nobody_but_a_superuser_saves_an_image_nobody_recorded(staff_client, admin_client, make):
    image_id = make.image(f"{unique('img')}:v1")

    assert staff_client.get(f"/images/{image_id}/save/").status_code == 403
    answer = admin_client.get(f"/images/{image_id}/save/")
    assert answer.status_code == 200
    answer.close()


# Registry logins


def test_an_operator_may_not_store_a_login_but_may_forget_their_own(operator_user, registry):
    client = client_of(operator_user)
    kept = credentials.store(
        owner=operator_user, server=registry.address, username="u", password="p"
    )

    listed = client.get("/registries/")
    stored = client.post(
        "/registries/", {"server": registry.address, "username": "me", "password": "pw"}
    )
    forgotten = client.post(f"/registries/{kept.pk}/logout/")

    assert listed.status_code == 200
    assert 'id="registry-login"' not in page(listed)
    assert row(listed, str(kept.pk))
    assert stored.status_code == 403
    assert forgotten.status_code == 302
    assert not RegistryCredential.objects.exists()
    assert AuditEntry.objects.get(action="login").denied
    logout = AuditEntry.objects.get(action="logout")
    assert logout.succeeded and logout.command == f"docker logout {registry.address}"
