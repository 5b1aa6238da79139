"""Compose projects Berth found on an engine (started with the compose CLI): listed as
external, started, stopped and taken down by their label, and adopted by a superuser."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from containers_app.engine import compose
from containers_app.models import Application, ProjectAssignment, Team
from tests import conftest
from tests.conftest import HOME_TEAM, OTHER_TEAM
from tests.engine.apps_helpers import service
from tests.engine.jobs_helpers import job_of

pytestmark = pytest.mark.django_db(transaction=True)

YAML = json.dumps({"services": {"web": service(), "db": service()}}, indent=2)


def started_with_the_cli(folder: Path, name: str, text: str = YAML, env: str = "") -> None:
    """`docker compose -p <name> up -d` run in `folder`, as a person at a shell would."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "compose.yaml").write_text(text)
    if env:
        (folder / ".env").write_text(env)
    subprocess.run(
        [str(compose.BINARY), "-p", name, "up", "-d"],
        cwd=folder,
        env={
            "PATH": os.environ["PATH"],
            "DOCKER_HOST": conftest.test_docker_host(),
            "HOME": str(folder),
        },
        check=True,
        capture_output=True,
    )


def test_a_found_project_is_listed_as_external_and_stopped_by_its_label(
    admin_client, projects, tmp_path
):
    name = projects.new()
    started_with_the_cli(tmp_path / name, name)
    listed = admin_client.get("/apps/").content.decode()
    assert f"/engines/local/apps/{name}/" in listed and "found (external)" in listed
    page = admin_client.get(f"/engines/local/apps/{name}/").content.decode()
    assert "Adopt" in page and "web" in page and "db" in page

    response = admin_client.post(f"/engines/local/apps/{name}/stop/")
    assert response.status_code == 302
    assert all(c["State"] == "exited" for c in projects.containers(name))
    response = admin_client.post(f"/engines/local/apps/{name}/down/")
    assert response.status_code == 302
    assert projects.containers(name) == []
    # Deploying needs its files: adopt it first.
    started_with_the_cli(tmp_path / name, name)
    assert admin_client.post(f"/engines/local/apps/{name}/deploy/").status_code == 404


def test_a_found_project_is_its_teams_and_no_one_elses(
    staff_user, operator_client, other_admin_client, projects, tmp_path
):
    name = projects.new()
    started_with_the_cli(tmp_path / name, name)
    home = Team.objects.get(slug=HOME_TEAM)
    ProjectAssignment.objects.create(engine="local", project=name, team=home)

    assert other_admin_client.get(f"/engines/local/apps/{name}/").status_code == 404
    assert name not in other_admin_client.get("/apps/").content.decode()
    assert other_admin_client.post(f"/engines/local/apps/{name}/stop/").status_code == 404
    assert all(c["State"] == "running" for c in projects.containers(name))

    assert operator_client.post(f"/engines/local/apps/{name}/stop/").status_code == 302
    assert all(c["State"] == "exited" for c in projects.containers(name))
    # Down removes containers: an admin's, not an operator's.
    operator_client.post(f"/engines/local/apps/{name}/down/")
    assert len(projects.containers(name)) == 2
    # Adopting is a superuser's.
    body = {"team": HOME_TEAM, "compose": YAML}
    assert operator_client.post(f"/engines/local/apps/{name}/adopt/", body).status_code == 403


def test_a_superuser_adopts_a_project_by_pasting_its_yaml_and_deploys_it(
    staff_client, admin_client, projects, tmp_path, docker_api
):
    name = projects.new()
    started_with_the_cli(tmp_path / name, name)
    before = {c["Id"] for c in projects.containers(name)}
    response = admin_client.post(
        f"/engines/local/apps/{name}/adopt/", {"team": HOME_TEAM, "compose": YAML}
    )
    assert response.status_code == 302, response.content[:2000]
    app = Application.objects.get(name=name)
    assert app.adopted and app.team.slug == HOME_TEAM
    assert {c["Id"] for c in projects.containers(name)} == before  # nothing recreated yet

    # The team's admin sees it and deploys it: its containers get the team's label.
    assert staff_client.get(f"/engines/local/apps/{name}/").status_code == 200
    job = job_of(staff_client.post(f"/engines/local/apps/{name}/deploy/"))
    assert job.state == "done", job.output
    assert all(c["Labels"]["berth.team"] == HOME_TEAM for c in projects.containers(name))


def test_a_superuser_imports_a_projects_files_from_an_allowed_folder(
    staff_user, admin_client, projects, tmp_path, settings
):
    settings.COMPOSE_IMPORT_DIRS = [str(tmp_path / "allowed")]
    name = projects.new()
    folder = tmp_path / "allowed" / name
    started_with_the_cli(folder, name, env="TAG=one\n")
    response = admin_client.post(
        f"/engines/local/apps/{name}/adopt/", {"team": HOME_TEAM, "import_files": "on"}
    )
    assert response.status_code == 302, response.content[:2000]
    app = Application.objects.get(name=name)
    assert app.compose == YAML and app.project_directory == str(folder.resolve())
    assert "TAG=one" in admin_client.get(f"/engines/local/apps/{name}/").content.decode()


@pytest.mark.parametrize("where", ["elsewhere", "data folder"])
def test_files_outside_the_allowed_folders_are_not_imported(
    staff_user, admin_client, projects, tmp_path, settings, where
):
    settings.COMPOSE_IMPORT_DIRS = [str(tmp_path / "allowed"), str(tmp_path / "data")]
    settings.DATA_DIR = tmp_path / "data"
    name = projects.new()
    folder = tmp_path / ("elsewhere" if where == "elsewhere" else "data") / name
    started_with_the_cli(folder, name)
    response = admin_client.post(
        f"/engines/local/apps/{name}/adopt/", {"team": HOME_TEAM, "import_files": "on"}
    )
    assert response.status_code == 400
    assert "is not inside a folder BERTH_COMPOSE_IMPORT_DIRS allows" in response.content.decode()
    assert not Application.objects.filter(name=name).exists()


def test_an_adopted_name_cannot_be_adopted_twice_nor_another_teams_seen(
    admin_client, other_admin_client, projects, tmp_path, staff_user
):
    name = projects.new()
    started_with_the_cli(tmp_path / name, name)
    body = {"team": HOME_TEAM, "compose": YAML}
    assert admin_client.post(f"/engines/local/apps/{name}/adopt/", body).status_code == 302
    assert admin_client.post(f"/engines/local/apps/{name}/adopt/", body).status_code == 400
    other = {"team": OTHER_TEAM, "compose": YAML}
    assert other_admin_client.post(f"/engines/local/apps/{name}/adopt/", other).status_code == 404


def test_an_application_on_an_engine_that_does_not_answer_is_listed_as_unknown(admin_client):
    from containers_app import engines
    from tests.conftest import unique

    slug = unique("dead")
    engines.engine_add(slug=slug, address=f"unix:///nonexistent/{slug}.sock", every_team=True)
    try:
        Application.objects.create(engine=slug, name="shop", compose="services: {}")
        listed = admin_client.get("/apps/")
        assert listed.status_code == 200
        row = listed.content.decode().split(f'data-id="{slug}/shop"')[1].split("</tr>")[0]
        assert "unknown" in row and "deployed by Berth" in row
        assert f"Engine {slug}:" in listed.content.decode()
    finally:
        engines.engine_remove(slug=slug)
