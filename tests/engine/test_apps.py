"""Compose applications through their pages: deploy, redeploy one service, edit, roll back,
down, on the private engine with the real compose binary."""

import json

import pytest

from containers_app.models import Application, AuditEntry, ProjectAssignment, Revision
from tests.conftest import HOME_TEAM, TEST_IMAGE, wait_on_condition
from tests.engine.apps_helpers import service
from tests.engine.jobs_helpers import job_of

pytestmark = pytest.mark.django_db(transaction=True)


PROJECT = "com.docker.compose.project"


def yaml_of(services: dict, **top) -> str:
    return json.dumps({"services": services, **top}, indent=2)  # JSON is YAML


THREE = {
    "web": service(volumes=["data:/data"], networks=["front"]),
    "worker": service(networks=["front"], environment={"MODE": "${MODE}"}),
    "cache": service(networks=["front"]),
}
THREE_YAML = yaml_of(THREE, volumes={"data": {}}, networks={"front": {}})


def new_app(client, name: str, compose: str = THREE_YAML, env: str = "MODE=one\n", **more):
    body = {"name": name, "team": HOME_TEAM, "engine": "local", "compose": compose, "env": env}
    return client.post("/apps/new/", body | more)


def ids_by_service(projects, name: str) -> dict[str, str]:
    return {c["Labels"]["com.docker.compose.service"]: c["Id"] for c in projects.containers(name)}


def test_a_team_admin_deploys_a_three_service_app_with_a_volume_and_a_network(
    staff_client, projects, docker_api
):
    name = projects.new()
    job = job_of(new_app(staff_client, name))
    assert job.state == "done", job.output
    assert job.command == f"docker compose -p {name} up -d --remove-orphans"

    running = projects.containers(name)
    assert sorted(c["Labels"]["com.docker.compose.service"] for c in running) == [
        "cache",
        "web",
        "worker",
    ]
    assert all(c["State"] == "running" for c in running)
    assert all(c["Labels"]["berth.team"] == HOME_TEAM for c in running)
    volume = docker_api.inspect_volume(f"{name}_data")
    network = docker_api.inspect_network(f"{name}_front")
    assert volume["Labels"]["berth.team"] == HOME_TEAM
    assert network["Labels"]["berth.team"] == HOME_TEAM
    worker = docker_api.inspect_container(ids_by_service(projects, name)["worker"])
    assert "MODE=one" in worker["Config"]["Env"]

    app = Application.objects.get(name=name)
    assert ProjectAssignment.objects.get(engine="local", project=name).team.slug == HOME_TEAM
    revision = app.revisions.get()
    assert revision.state == Revision.DEPLOYED
    image_id = docker_api.inspect_image(TEST_IMAGE)["Id"]
    assert {s: i["id"] for s, i in revision.images.items()} == dict.fromkeys(THREE, image_id)

    page = staff_client.get(f"/engines/local/apps/{name}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "running" in body and "#1" in body
    listed = staff_client.get("/apps/").content.decode()
    assert f"/engines/local/apps/{name}/" in listed and "deployed by Berth" in listed
    assert AuditEntry.objects.filter(action="app deploy", target=name, succeeded=True).exists()


def test_an_edited_service_redeployed_alone_leaves_the_others_containers(staff_client, projects):
    name = projects.new()
    assert job_of(new_app(staff_client, name)).state == "done"
    before = ids_by_service(projects, name)

    edited = {**THREE, "worker": service(networks=["front"], environment={"MODE": "two"})}
    response = staff_client.post(
        f"/engines/local/apps/{name}/edit/",
        {"compose": yaml_of(edited, volumes={"data": {}}, networks={"front": {}}), "env": ""},
    )
    assert response.status_code == 302
    assert ids_by_service(projects, name) == before  # an edit changes nothing running

    job = job_of(staff_client.post(f"/engines/local/apps/{name}/services/worker/redeploy/"))
    assert job.state == "done", job.output
    after = ids_by_service(projects, name)
    assert after["worker"] != before["worker"]
    assert after["web"] == before["web"] and after["cache"] == before["cache"]

    app = Application.objects.get(name=name)
    latest = app.revisions.first()
    assert (latest.number, latest.action, latest.service) == (2, "redeploy", "worker")
    page = staff_client.get(f"/engines/local/apps/{name}/").content.decode()
    assert "#2" in page and "#1" in page


def test_a_rollback_runs_the_earlier_revision_on_the_images_it_ran(make, staff_client, projects):
    # (make first: its images are removed after the project's containers)
    name = projects.new()
    first_image = make.image(f"berthtest-roll-{name}:v")
    yaml_one = yaml_of({"web": {"image": f"berthtest-roll-{name}:v", "command": ["sleep", "600"]}})
    assert job_of(new_app(staff_client, name, yaml_one, env="")).state == "done"
    # The tag moves to another image, and the app is deployed again on it.
    second_image = make.image(f"berthtest-roll-{name}:v")
    assert second_image != first_image
    assert job_of(staff_client.post(f"/engines/local/apps/{name}/deploy/")).state == "done"
    assert projects.containers(name)[0]["ImageID"] == second_image

    job = job_of(staff_client.post(f"/engines/local/apps/{name}/revisions/1/rollback/"))
    assert job.state == "done", job.output
    assert projects.containers(name)[0]["ImageID"] == first_image
    latest = Application.objects.get(name=name).revisions.first()
    assert (latest.action, latest.rollback_of, latest.pinned) == (
        "rollback",
        1,
        {"web": first_image},
    )


def test_down_with_volumes_removes_containers_networks_and_volumes(
    staff_client, projects, docker_api
):
    name = projects.new()
    assert job_of(new_app(staff_client, name)).state == "done"
    job = job_of(staff_client.post(f"/engines/local/apps/{name}/down/", {"volumes": "on"}))
    assert job.state == "done", job.output
    assert job.command == f"docker compose -p {name} down --remove-orphans --volumes"
    assert projects.containers(name) == []
    label = {"label": f"com.docker.compose.project={name}"}
    assert docker_api.networks(filters=label) == []
    assert (docker_api.volumes(filters=label) or {}).get("Volumes") in (None, [])


def test_stop_and_start_are_an_operators(operator_client, staff_client, projects):
    name = projects.new()
    assert job_of(new_app(staff_client, name)).state == "done"
    assert job_of(operator_client.post(f"/engines/local/apps/{name}/stop/")).state == "done"
    assert all(c["State"] == "exited" for c in projects.containers(name))
    assert job_of(operator_client.post(f"/engines/local/apps/{name}/start/")).state == "done"
    wait_on_condition(lambda: all(c["State"] == "running" for c in projects.containers(name)))
    assert operator_client.post(f"/engines/local/apps/{name}/deploy/").status_code == 403


def test_a_private_image_is_pulled_with_the_deployers_own_login(
    make, staff_client, staff_user, projects, auth_registry, docker_api
):
    from containers_app import credentials

    reference = f"{auth_registry.address}/berthtest-app-{projects.new()}:1"
    image_id = make.image(reference)
    login = {"username": auth_registry.username, "password": auth_registry.password}
    for line in docker_api.push(reference, auth_config=login, stream=True, decode=True):
        assert "error" not in line, line
    docker_api.remove_image(image_id, force=True)
    compose = yaml_of({"web": {"image": reference, "command": ["sleep", "600"]}})

    name = projects.new()
    refused = job_of(new_app(staff_client, name, compose, env=""))
    assert refused.state == "failed"
    assert "unauthorized" in refused.output.lower() or "no basic auth" in refused.output.lower()

    credentials.store(owner=staff_user, server=auth_registry.address, **login)
    pulled = job_of(staff_client.post(f"/engines/local/apps/{name}/deploy/"))
    assert pulled.state == "done", pulled.output
    assert projects.containers(name)[0]["Image"] == reference
    assert auth_registry.password not in pulled.output + pulled.result + pulled.command


def test_an_app_on_an_ssh_engine_deploys_and_goes_down(staff_client, db):
    from tests.engine.apps_helpers import Projects
    from tests.engine.remote_engines import Remote

    remote = Remote("ssh")
    made = Projects(remote.api)
    try:
        name = made.new()
        body = {"name": name, "team": HOME_TEAM, "engine": remote.slug, "compose": THREE_YAML}
        job = job_of(staff_client.post("/apps/new/", body | {"env": "MODE=ssh\n"}))
        assert job.state == "done", job.output
        assert job.command.startswith(f"docker -H {remote.engine.base_url} compose -p {name}")
        assert len(made.containers(name)) == 3
        page = staff_client.get(f"/engines/{remote.slug}/apps/{name}/")
        assert page.status_code == 200 and "running" in page.content.decode()
        job = job_of(staff_client.post(f"/engines/{remote.slug}/apps/{name}/down/"))
        assert job.state == "done", job.output
        assert made.containers(name) == []
    finally:
        made.cleanup()
        remote.remove()
    # Its applications go with the engine (their projects' team records do too).
    assert not Application.objects.filter(engine=remote.slug).exists()


def test_a_deploy_that_fails_part_way_says_so_and_what_runs(make, staff_client, projects):
    import socket

    with socket.socket() as probe:  # a free port, then held by another container
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    make.container(port_bindings={80: ("127.0.0.1", port)})
    name = projects.new()
    compose = yaml_of({"a": service(), "b": service(ports=[f"127.0.0.1:{port}:80"])})

    job = job_of(new_app(staff_client, name, compose, env=""))
    assert job.state == "failed"
    assert "already allocated" in job.output or "address already in use" in job.output
    revision = Application.objects.get(name=name).revisions.get()
    assert revision.state == Revision.FAILED and "a" in revision.images
    states = {
        c["Labels"]["com.docker.compose.service"]: c["State"] for c in projects.containers(name)
    }
    assert states["a"] == "running" and states["b"] != "running"
    page = staff_client.get(f"/engines/local/apps/{name}/").content.decode()
    assert "partly running" in page or "failing" in page
    assert "failed" in page


def test_a_missing_image_fails_the_deploy_in_composes_words(staff_client, projects):
    name = projects.new()
    compose = yaml_of({"web": {"image": "127.0.0.1:1/berthtest/none:1"}})
    job = job_of(new_app(staff_client, name, compose, env=""))
    assert job.state == "failed"
    assert "127.0.0.1:1" in job.output and "docker compose up failed" in job.result
    revision = Application.objects.get(name=name).revisions.get()
    assert revision.state == Revision.FAILED and revision.images == {}


def test_two_revisions_are_compared(staff_client, projects):
    name = projects.new()
    assert job_of(new_app(staff_client, name)).state == "done"
    edited = THREE_YAML.replace('"MODE": "${MODE}"', '"MODE": "${MODE}-two"')
    staff_client.post(f"/engines/local/apps/{name}/edit/", {"compose": edited, "env": "MODE=b\n"})
    assert job_of(staff_client.post(f"/engines/local/apps/{name}/deploy/")).state == "done"
    page = staff_client.get(f"/engines/local/apps/{name}/diff/", {"a": "1", "b": "2"})
    body = page.content.decode()
    assert page.status_code == 200
    assert "-        &quot;MODE&quot;: &quot;${MODE}&quot;" in body
    assert "+        &quot;MODE&quot;: &quot;${MODE}-two&quot;" in body
    assert "-MODE=one" in body and "+MODE=b" in body
    assert staff_client.get(f"/engines/local/apps/{name}/diff/", {"a": "9"}).status_code == 404


def test_no_second_compose_job_runs_beside_one_of_the_same_application(
    staff_client, staff_user, projects
):
    from containers_app import jobs
    from containers_app.models import Job

    name = projects.new()
    assert job_of(new_app(staff_client, name)).state == "done"
    # A deploy still running, in another live process of this host.
    Job.objects.create(
        user=staff_user,
        username=staff_user.get_username(),
        engine="local",
        kind="app deploy",
        target=name,
        command="docker compose up",
        state=Job.RUNNING,
        runner=f"{jobs.HOST}:1:0",
    )
    for path in ("deploy/", "stop/", "services/web/redeploy/"):
        response = staff_client.post(f"/engines/local/apps/{name}/{path}")
        assert response.status_code == 409, path
        assert "app deploy of" in response.content.decode()
    assert Application.objects.get(name=name).revisions.count() == 1


def test_an_engine_that_goes_down_mid_deploy_fails_the_job_and_revision(staff_client, db):
    from containers_app import engines
    from containers_app.models import Job
    from tests.conftest import unique
    from tests.engine.apps_helpers import remove_project
    from tests.engine.second_engine import SecondEngine

    second = SecondEngine("apps")
    slug = unique("down")
    name = unique("app")
    with second.running():
        engines.engine_add(slug=slug, address=second.address, every_team=True)
        try:
            # b waits for a to be healthy, which it never is: compose waits on the engine.
            never = {"test": ["CMD", "false"], "interval": "1s", "retries": 1000}
            compose = yaml_of(
                {
                    "a": service(healthcheck=never),
                    "b": service(depends_on={"a": {"condition": "service_healthy"}}),
                }
            )
            body = {"name": name, "team": HOME_TEAM, "engine": slug, "compose": compose}
            response = staff_client.post("/apps/new/", body)
            assert response.status_code == 302, response.content[:2000]
            with second.api() as api:
                wait_on_condition(
                    lambda: any(
                        c["State"] == "running"
                        for c in api.containers(filters={"label": f"{PROJECT}={name}"})
                    ),
                    timeout=60,
                )
            second.stop()
            job = job_of(response)
            assert job.state == Job.FAILED
            assert "docker compose up failed" in job.result
            revision = Application.objects.get(engine=slug, name=name).revisions.get()
            assert revision.state == Revision.FAILED
            page = staff_client.get(f"/engines/{slug}/apps/{name}/")
            assert page.status_code == 503  # said as every page of a down engine says it
        finally:
            second.start()
            with second.api() as api:
                remove_project(api, name)
            engines.engine_remove(slug=slug)


def test_a_cancelled_deploy_stops_compose_and_fails_its_revision(staff_client, projects):
    from containers_app.models import Job

    name = projects.new()
    never = {"test": ["CMD", "false"], "interval": "1s", "retries": 1000}
    compose = yaml_of(
        {
            "a": service(healthcheck=never),
            "b": service(depends_on={"a": {"condition": "service_healthy"}}),
        }
    )
    response = new_app(staff_client, name, compose, env="")
    assert response.status_code == 302
    job_id = int(response["Location"].rstrip("/").rsplit("/", 1)[1])
    wait_on_condition(lambda: any(c["State"] == "running" for c in projects.containers(name)))
    assert staff_client.post(f"/jobs/{job_id}/cancel/").status_code == 302
    job = job_of(response)
    assert job.state == Job.CANCELLED
    revision = Application.objects.get(name=name).revisions.get()
    assert revision.state == Revision.FAILED
    # compose is gone: b, which waited for a, was never started.
    assert all(c["State"] != "running" for c in projects.containers(name, "b"))
