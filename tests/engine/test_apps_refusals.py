"""What a team admin may not deploy, and who may not change an application: each refused
with its reason, and nothing made on the engine."""

import json

import pytest

from containers_app.models import Application, AuditEntry, ProjectAssignment, Team
from tests.conftest import HOME_TEAM, OTHER_TEAM, TEST_IMAGE
from tests.engine.apps_helpers import PROJECT_LABEL, service
from tests.engine.jobs_helpers import job_of

pytestmark = pytest.mark.django_db(transaction=True)


def yaml_of(services: dict, **top) -> str:
    return json.dumps({"services": services, **top}, indent=2)


def deploy(client, name: str, compose: str, env: str = ""):
    body = {"name": name, "team": HOME_TEAM, "engine": "local", "compose": compose, "env": env}
    return client.post("/apps/new/", body)


def refused_with(response, *words: str) -> str:
    body = response.content.decode()
    for word in words:
        assert word in body, body[:3000]
    return body


@pytest.mark.parametrize(
    ("compose", "said"),
    [
        (yaml_of({"web": service(privileged=True)}), "--privileged gives the container"),
        (yaml_of({"web": service(volumes=["/etc:/host"])}), "mounts the host&#x27;s folder /etc"),
        (
            yaml_of({"web": service(volumes=["/var/run/docker.sock:/s"])}),
            "mounts the Docker socket",
        ),
        (yaml_of({"web": service(network_mode="host")}), "--network host"),
        (
            yaml_of(
                {"web": service(networks=["hostnet"])},
                networks={"hostnet": {"external": True, "name": "host"}},
            ),
            "An external network named host",
        ),
        (yaml_of({"web": service(cap_add=["SYS_ADMIN"])}), "--cap-add SYS_ADMIN"),
        (
            yaml_of({"web": service(env_file=["/proc/self/environ"])}),
            "env_file may only be the application&#x27;s own .env",
        ),
        (
            yaml_of({"web": service(secrets=["s"])}, secrets={"s": {"file": "/etc/shadow"}}),
            "Secret s: file: reads that file on Berth&#x27;s host",
        ),
        (
            yaml_of({"web": service()}, include=["/etc/berth/other.yaml"]),
            "include: reads other compose files",
        ),
        (
            yaml_of({"web": service(extends={"file": "/etc/x.yaml", "service": "a"})}),
            "extends with a file",
        ),
        (yaml_of({"web": {"build": "/", "image": "x"}}), "images are built through the build form"),
        (yaml_of({"web": service(labels={"berth.team": OTHER_TEAM})}), "the label berth.team"),
        (
            yaml_of({"web": service(logging={"driver": "syslog"})}),
            "only a superuser may set logging",
        ),
        (yaml_of({"web": service(cgroup_parent="/")}), "only a superuser may set cgroup_parent"),
        (
            yaml_of(
                {"web": service(volumes=["vol:/v"])},
                volumes={"vol": {"driver_opts": {"type": "none", "o": "bind", "device": "/"}}},
            ),
            "Volume vol: Option type=none",
        ),
    ],
)
def test_a_team_admin_may_not_deploy_what_reaches_the_host(staff_client, projects, compose, said):
    name = projects.new()
    response = deploy(staff_client, name, compose)
    assert response.status_code == 403
    refused_with(response, said)
    assert projects.containers(name) == []
    assert not Application.objects.filter(name=name).exists()
    assert AuditEntry.objects.filter(target=name, denied=True).exists()


def test_a_superuser_may_deploy_what_reaches_the_host(staff_user, admin_client, projects):
    name = projects.new()
    compose = yaml_of({"web": service(volumes=["/etc:/host:ro"], cap_add=["NET_ADMIN"])})
    assert job_of(deploy(admin_client, name, compose)).state == "done"
    assert len(projects.containers(name)) == 1


def test_another_teams_volume_may_not_be_mounted(staff_client, projects, make):
    theirs = make.volume(team=OTHER_TEAM)["Name"]
    compose = yaml_of(
        {"web": service(volumes=["vol:/data"])}, volumes={"vol": {"external": True, "name": theirs}}
    )
    name = projects.new()
    response = deploy(staff_client, name, compose)
    assert response.status_code == 403
    refused_with(response, f"The volume {theirs} is not one of the team&#x27;s volumes")


def test_a_volume_named_as_another_teams_is_not_taken_over(staff_client, projects, make):
    # Not external, but named as the other team's: compose would use that volume as it is.
    theirs = make.volume(team=OTHER_TEAM)["Name"]
    compose = yaml_of({"web": service(volumes=["vol:/data"])}, volumes={"vol": {"name": theirs}})
    response = deploy(staff_client, projects.new(), compose)
    assert response.status_code == 403
    refused_with(response, f"The volume {theirs} is not one of the team&#x27;s volumes")


def test_another_teams_network_may_not_be_joined(staff_client, projects, make):
    theirs = make.network(team=OTHER_TEAM)["Name"]
    compose = yaml_of(
        {"web": service(networks=["n"])}, networks={"n": {"external": True, "name": theirs}}
    )
    response = deploy(staff_client, projects.new(), compose)
    assert response.status_code == 403
    refused_with(response, f"The network {theirs} is not one of the team&#x27;s networks")


def test_invalid_yaml_is_a_400_in_composes_words(staff_client, projects):
    name = projects.new()
    response = deploy(staff_client, name, "services:\n  web:\n    image: x\n   bad: [\n")
    assert response.status_code == 400
    refused_with(response, "Compose cannot read these files", "yaml: line")
    unknown = deploy(staff_client, name, "services:\n  web:\n    imag: x\n")
    assert unknown.status_code == 400
    refused_with(unknown, "services.web additional properties &#x27;imag&#x27; not allowed")
    assert not Application.objects.filter(name=name).exists()


def test_a_key_given_twice_is_refused_as_compose_refuses_it(staff_client, projects):
    twice = "services:\n  web:\n    image: x\n    privileged: false\n    privileged: true\n"
    response = deploy(staff_client, projects.new(), twice)
    assert response.status_code == 400
    refused_with(response, "mapping key &quot;privileged&quot; already defined at line 4")


def test_a_name_another_compose_project_uses_is_refused(staff_client, projects, make):
    name = projects.new()
    # Another team's container of that project, which a deploy would recreate or remove.
    make.container(team=OTHER_TEAM, labels={PROJECT_LABEL: name})
    response = deploy(staff_client, name, yaml_of({"web": service()}))
    assert response.status_code == 400
    refused_with(response, f"The compose project name {name} is used on this engine already")
    assert len(projects.containers(name)) == 1


def test_a_name_handed_to_a_team_or_of_an_application_is_refused(staff_client, projects):
    handed, taken = projects.new(), projects.new()
    other = Team.objects.get_or_create(slug=OTHER_TEAM, defaults={"name": OTHER_TEAM})[0]
    ProjectAssignment.objects.create(engine="local", project=handed, team=other)
    Application.objects.create(engine="local", name=taken, compose="services: {}")
    assert deploy(staff_client, handed, yaml_of({"web": service()})).status_code == 400
    assert deploy(staff_client, taken, yaml_of({"web": service()})).status_code == 400


def test_berths_environment_is_not_the_applications(staff_client, projects, docker_api):
    name = projects.new()
    compose = yaml_of({"web": service(environment={"S": "${DJANGO_SECRET_KEY}", "G": "${G}"})})
    assert job_of(deploy(staff_client, name, compose, env="G=given\n")).state == "done"
    env = docker_api.inspect_container(projects.containers(name)[0]["Id"])["Config"]["Env"]
    assert "S=" in env and "G=given" in env


def test_the_teams_maximum_counts_every_replica(staff_client, projects):
    Team.objects.filter(slug=HOME_TEAM).update(containers_max=2)
    name = projects.new()
    compose = yaml_of({"web": service(deploy={"replicas": 3})})
    response = deploy(staff_client, name, compose)
    assert response.status_code == 403
    refused_with(response, "the application makes 3 (replicas counted): its maximum is 2")
    assert projects.containers(name) == []


def test_the_teams_image_policy_holds_for_every_service(staff_client, projects):
    Team.objects.filter(slug=HOME_TEAM).update(image_patterns="registry.example/*")
    response = deploy(staff_client, projects.new(), yaml_of({"web": service()}))
    assert response.status_code == 403
    refused_with(response, f"The image {TEST_IMAGE} is not one team {HOME_TEAM} may run")


def test_a_viewer_is_refused_every_change_and_another_team_sees_nothing(
    staff_client, viewer_client, other_admin_client, projects
):
    name = projects.new()
    assert job_of(deploy(staff_client, name, yaml_of({"web": service()}))).state == "done"
    base = f"/engines/local/apps/{name}/"
    changes = [
        "deploy/",
        "pull/",
        "stop/",
        "start/",
        "restart/",
        "down/",
        "services/web/redeploy/",
        "edit/",
        "revisions/1/rollback/",
    ]
    assert viewer_client.get(base).status_code == 200
    for path in changes:
        assert viewer_client.post(base + path, {"compose": "x"}).status_code == 403, path
        assert other_admin_client.post(base + path, {"compose": "x"}).status_code == 404, path
    assert other_admin_client.get(base).status_code == 404
    assert name not in other_admin_client.get("/apps/").content.decode()
    body = {"name": "x", "team": HOME_TEAM, "engine": "local", "compose": "services: {}"}
    assert viewer_client.post("/apps/new/", body).status_code == 403
    assert len(projects.containers(name)) == 1


def test_the_env_is_masked_but_for_the_teams_admins(staff_client, operator_client, projects):
    name = projects.new()
    response = deploy(staff_client, name, yaml_of({"web": service()}), env="DB_URL=pg://u:pw@h\n")
    assert job_of(response).state == "done"
    assert "pg://u:pw@h" in staff_client.get(f"/engines/local/apps/{name}/").content.decode()
    seen = operator_client.get(f"/engines/local/apps/{name}/").content.decode()
    assert "pg://u:pw@h" not in seen and "DB_URL=••••••" in seen
    stored = Application.objects.get(name=name).env
    assert "pg://" not in stored


def test_an_image_from_a_registry_the_team_may_not_reach_is_refused(staff_client, projects):
    compose = yaml_of({"web": {"image": "registry.example/team/web:1"}})
    response = deploy(staff_client, projects.new(), compose)
    assert response.status_code == 403
    refused_with(response, "Image registry.example/team/web:1: The registry registry.example")


def test_pulling_a_name_another_teams_container_runs_is_refused(make, staff_client, projects):
    name = projects.new()
    shared = f"berthtest-shared-{name}:v"
    make.image(shared)
    make.container(image=shared, team=OTHER_TEAM)
    assert job_of(deploy(staff_client, name, yaml_of({"web": service(image=shared)}))).state == (
        "done"
    )
    response = staff_client.post(f"/engines/local/apps/{name}/pull/")
    assert response.status_code == 403
    refused_with(response, f"{shared} is the image name of a container of another team")


def test_an_env_the_current_key_cannot_decrypt_is_said_not_a_500(staff_client, projects):
    name = projects.new()
    home = Team.objects.get(slug=HOME_TEAM)
    Application.objects.create(
        engine="local", name=name, team=home, compose=yaml_of({"web": service()}), env="garbage"
    )
    page = staff_client.get(f"/engines/local/apps/{name}/")
    assert page.status_code == 200
    refused_with(page, "cannot be decrypted with the current BERTH_CREDENTIALS_KEY")
    response = staff_client.post(f"/engines/local/apps/{name}/deploy/")
    assert response.status_code == 400
    refused_with(response, "cannot be decrypted")
    assert projects.containers(name) == []


def test_a_yaml_bomb_is_refused_at_once_without_asking_compose(staff_client, projects, monkeypatch):
    from containers_app.engine import compose

    def not_asked(*args, **kwargs):
        raise AssertionError("compose was asked: it spends a minute and gigabytes on this")

    monkeypatch.setattr(compose, "config", not_asked)
    laughs = ["x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in "bcdefgh":
        previous = chr(ord(level) - 1)
        laughs.append(f"x-{level}: &{level} [{', '.join([f'*{previous}'] * 9)}]")
    laughs.append(f"services:\n  web:\n    image: {TEST_IMAGE}\n    command: *h")
    response = deploy(staff_client, projects.new(), "\n".join(laughs))
    assert response.status_code == 400
    refused_with(response, "expand it to more than 200,000 values")
