"""`docker commit` and recreate through Berth, as jobs, against the private engine: what the
new image holds, what the new container keeps, and the original put back when a recreate
fails."""

import time

import docker.errors
import pytest

from containers_app.engine import NotFound
from containers_app.engine import recreate as engine_recreate
from containers_app.jobs import Cancelled
from containers_app.models import AuditEntry, Job
from tests.conftest import HOME_TEAM, STOPPABLE, TEAM_LABEL, TEST_IMAGE, made_by, unique
from tests.engine.jobs_helpers import job_of

pytestmark = pytest.mark.django_db(transaction=True)


def events_of(docker_api, container_id: str, since: float) -> list[str]:
    """The actions the engine reported for a container since `since` (Unix seconds, with
    their fraction), up to now."""
    events = docker_api.events(
        since=f"{since:.6f}",
        until=f"{time.time():.6f}",
        filters={"container": container_id},
        decode=True,
    )
    return [event["Action"] for event in events]


def old_ones(docker_api) -> list[str]:
    rows = docker_api.containers(all=True, filters={"name": engine_recreate.OLD_MARK})
    return [name for row in rows for name in row["Names"]]


# --- commit ---------------------------------------------------------------------------------


def test_a_commit_makes_an_image_with_the_changes_message_and_author(
    staff_client, make, docker_api
):
    container = make.container()
    repository = f"berthtest-local/{unique('commit')}"
    changes = "\n".join(
        [
            'CMD ["sleep", "30"]',
            "ENV GREETING=hello",
            "LABEL org.example.commit=yes",
            "EXPOSE 8080",
            "workdir /srv",
        ]
    )

    job = job_of(
        staff_client.post(
            f"/containers/{container['Id']}/commit/",
            {
                "repository": repository,
                "tag": "v1",
                "message": "snapshot",
                "author": "Berth tests",
                "change": changes,
            },
        )
    )

    assert job.state == Job.DONE, job.result
    image = docker_api.inspect_image(f"{repository}:v1")
    make.images.append(image["Id"])
    assert job.kind == "commit"
    assert f"{repository}:v1" in job.result and image["Id"] in job.result
    config = image["Config"]
    assert config["Cmd"] == ["sleep", "30"]
    assert "GREETING=hello" in config["Env"]
    assert config["Labels"]["org.example.commit"] == "yes"
    assert "8080/tcp" in config["ExposedPorts"]
    assert config["WorkingDir"] == "/srv"
    assert image["Comment"] == "snapshot" and image["Author"] == "Berth tests"
    entry = AuditEntry.objects.get(action="commit")
    assert entry.succeeded and entry.target == container["Name"].lstrip("/")
    assert entry.command == job.command
    assert entry.team == job.team == HOME_TEAM
    assert job.command.startswith("docker commit -m snapshot -a 'Berth tests' -c ")


def test_a_commit_pauses_the_container_meanwhile_unless_told_not_to(staff_client, make, docker_api):
    container = make.container()
    repository = f"berthtest-local/{unique('pause')}"
    since = time.time()

    paused = job_of(
        staff_client.post(f"/containers/{container['Id']}/commit/", {"repository": repository})
    )
    make.images.append(f"{repository}:latest")
    between = time.time()
    not_paused = job_of(
        staff_client.post(
            f"/containers/{container['Id']}/commit/",
            {"repository": repository, "tag": "nopause", "pause": "0"},
        )
    )
    make.images.append(f"{repository}:nopause")

    assert paused.state == Job.DONE and not_paused.state == Job.DONE
    assert "--pause=false" not in paused.command
    assert paused.command.endswith(f"{repository}:latest")
    assert not_paused.command.startswith("docker commit --pause=false ")
    first = events_of(docker_api, container["Id"], since)
    assert "pause" in first and "unpause" in first
    later = events_of(docker_api, container["Id"], between)
    assert "commit" in later and "pause" not in later


def test_a_commit_of_a_container_that_does_not_exist_is_a_404(staff_client):
    response = staff_client.post(
        f"/containers/{unique('none')}/commit/", {"repository": "berthtest-local/x"}
    )

    assert response.status_code == 404
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"repository": "Not A Repo"}, b"is not a repository"),
        ({"repository": "berthtest-local/x", "tag": "-bad"}, b"is not a tag"),
        ({"repository": "berthtest-local/x", "change": "RUN rm -rf /"}, b"not RUN"),
        ({"repository": "berthtest-local/x", "change": "ENV"}, b"ENV needs a value"),
        ({"repository": "berthtest-local/x", "pause": "maybe"}, b"Pause is"),
    ],
)
def test_bad_commit_input_is_a_400_saying_why_and_starts_nothing(staff_client, make, body, words):
    container = make.container()

    response = staff_client.post(f"/containers/{container['Id']}/commit/", body)

    assert response.status_code == 400
    assert words in response.content
    assert not Job.objects.exists()


# --- recreate -------------------------------------------------------------------------------


def test_a_recreate_keeps_the_name_settings_networks_and_volume_data_on_a_new_container(
    staff_client, make, docker_api
):
    reference = f"berthtest-local/{unique('img')}:1"
    make.image(reference, dockerfile_line="VOLUME /data")
    first, second = make.network(), make.network()
    volume = make.volume()
    name = unique("c")
    created = docker_api.create_container(
        reference,
        command=STOPPABLE,
        name=name,
        environment=["BERTH_SETTING=kept"],
        labels={
            "com.docker.compose.project": "berthtest",
            "org.example.kept": "yes",
            TEAM_LABEL: HOME_TEAM,
        },
        volumes=["/named"],
        ports=[80],
        host_config=docker_api.create_host_config(
            binds=[f"{volume['Name']}:/named"],
            port_bindings={80: ("127.0.0.1", None)},
            restart_policy={"Name": "unless-stopped"},
            network_mode=first["Name"],
        ),
    )
    make.containers.append(created["Id"])
    docker_api.connect_container_to_network(created["Id"], second["Id"], aliases=["other"])
    docker_api.start(created["Id"])
    container = docker_api.inspect_container(created["Id"])
    # Something in the image's anonymous volume, which the new container must still have.
    exec_id = docker_api.exec_create(container["Id"], ["sh", "-c", "echo kept > /data/file"])
    docker_api.exec_start(exec_id)

    job = job_of(staff_client.post(f"/containers/{name}/recreate/"))

    new = docker_api.inspect_container(name)
    make.containers.append(new["Id"])
    assert job.state == Job.DONE, (job.result, job.output)
    assert job.kind == "recreate" and job.target == name
    assert new["Id"] != container["Id"] and new["State"]["Running"]
    with pytest.raises(docker.errors.NotFound):
        docker_api.inspect_container(container["Id"])
    assert old_ones(docker_api) == []
    assert new["Config"]["Image"] == reference
    assert "BERTH_SETTING=kept" in new["Config"]["Env"]
    assert new["Config"]["Labels"]["com.docker.compose.project"] == "berthtest"
    assert new["Config"]["Labels"]["org.example.kept"] == "yes"
    assert new["Config"]["Labels"][TEAM_LABEL] == HOME_TEAM
    assert new["Config"]["Cmd"] == container["Config"]["Cmd"]
    assert new["HostConfig"]["PortBindings"] == {
        "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]
    }
    assert f"{volume['Name']}:/named" in new["HostConfig"]["Binds"]
    assert new["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    networks = new["NetworkSettings"]["Networks"]
    assert sorted(networks) == sorted([first["Name"], second["Name"]])
    assert "other" in networks[second["Name"]]["Aliases"]
    assert container["Id"][:12] not in networks[second["Name"]]["Aliases"]
    exec_id = docker_api.exec_create(new["Id"], ["cat", "/data/file"])
    assert docker_api.exec_start(exec_id).strip() == b"kept"
    entry = AuditEntry.objects.get(action="recreate", target=name)
    assert entry.succeeded and entry.command == job.command
    assert f"docker rename {name} {name}-berth-old-" in job.command
    assert f"docker network connect {second['Name']} {name}" in job.command
    assert job.command.index("docker start") < job.command.index("docker rm")
    page = staff_client.get(f"/jobs/{job.pk}/").content.decode()
    assert f"Renaming {name} to {name}-berth-old-" in page and f"Removing {name}-berth-old-" in page


def test_a_recreate_with_pull_runs_the_newer_image_from_the_registry(
    staff_client, make, docker_api, registry
):
    repository = f"{registry.address}/{unique('recreate')}"
    reference = f"{repository}:1"
    older = make.image(reference, dockerfile_line="ENV VERSION=1")
    name = unique("c")
    container = make.container(command=STOPPABLE, name=name, image=reference)
    newer = make.image(reference, dockerfile_line="ENV VERSION=2")
    for line in docker_api.push(repository, tag="1", stream=True, decode=True):
        assert "error" not in line, line
    docker_api.tag(older, repository, "1")  # the engine has the older one under the name

    job = job_of(staff_client.post(f"/containers/{name}/recreate/", {"pull": "1"}))

    new = docker_api.inspect_container(name)
    make.containers.append(new["Id"])
    assert job.state == Job.DONE, (job.result, job.output)
    assert container["Image"] == older and new["Image"] == newer
    assert "VERSION=2" in new["Config"]["Env"]
    assert job.command.startswith(f"docker pull {reference} && docker rename {name} ")


def test_a_recreate_without_pull_runs_what_the_reference_names_on_the_engine_now(
    staff_client, make, docker_api
):
    reference = f"berthtest-local/{unique('img')}:1"
    make.image(reference)
    name = unique("c")
    make.container(command=STOPPABLE, name=name, image=reference)
    newer = make.image(reference, dockerfile_line="ENV VERSION=2")
    made_by(newer)  # the team's own new version: no confirmation asked

    job = job_of(staff_client.post(f"/containers/{name}/recreate/"))

    new = docker_api.inspect_container(name)
    make.containers.append(new["Id"])
    assert job.state == Job.DONE, job.result
    assert new["Image"] == newer
    assert "docker pull" not in job.command


def test_a_recreate_that_fails_after_the_rename_puts_the_original_back_running(
    staff_client, make, docker_api
):
    reference = f"berthtest-local/{unique('img')}:1"
    make.image(reference)
    name = unique("c")
    container = make.container(command=STOPPABLE, name=name, image=reference)
    # The newest image under that name cannot start: the replacement fails after the
    # original was renamed and stopped.
    made_by(make.image(reference, dockerfile_line='ENTRYPOINT ["/no-such-program"]'))

    job = job_of(staff_client.post(f"/containers/{name}/recreate/"))

    assert job.state == Job.FAILED
    assert "rolled back" in job.result and f"started {name} again" in job.result
    assert "Roll-back: removed the new container" in job.output
    original = docker_api.inspect_container(name)
    assert original["Id"] == container["Id"]
    assert original["State"]["Running"]
    assert old_ones(docker_api) == []
    assert [row["Id"] for row in docker_api.containers(all=True, filters={"name": name})] == [
        container["Id"]
    ]
    entry = AuditEntry.objects.get(action="recreate", target=name)
    assert not entry.succeeded and "rolled back" in entry.message


def test_a_recreate_whose_image_is_gone_changes_nothing(staff_client, make, docker_api):
    reference = f"berthtest-local/{unique('img')}:1"
    make.image(reference, f"berthtest-local/{unique('keep')}:1")
    name = unique("c")
    container = make.container(command=STOPPABLE, name=name, image=reference)
    docker_api.remove_image(reference)  # untags it: the image stays, under its other name

    job = job_of(staff_client.post(f"/containers/{name}/recreate/"))

    assert job.state == Job.FAILED
    assert "No such image" in job.result and "nothing was changed" in job.result
    original = docker_api.inspect_container(name)
    assert original["Id"] == container["Id"] and original["State"]["Running"]
    assert old_ones(docker_api) == []


def test_a_paused_container_is_recreated_running_and_the_output_says_so(
    staff_client, make, docker_api
):
    name = unique("c")
    make.container(command=STOPPABLE, name=name, state="paused")

    job = job_of(staff_client.post(f"/containers/{name}/recreate/"))

    new = docker_api.inspect_container(name)
    make.containers.append(new["Id"])
    assert job.state == Job.DONE, job.result
    assert new["State"]["Running"] and not new["State"]["Paused"]
    assert "was paused" in job.output


def test_a_stopped_container_is_recreated_but_not_started(staff_client, make, docker_api):
    name = unique("c")
    container = make.container(command=STOPPABLE, name=name, state="exited")

    job = job_of(staff_client.post(f"/containers/{name}/recreate/"))

    new = docker_api.inspect_container(name)
    make.containers.append(new["Id"])
    assert job.state == Job.DONE, job.result
    assert new["Id"] != container["Id"] and new["State"]["Status"] == "created"
    assert "docker stop" not in job.command and "docker start" not in job.command


# --- recreate: the roll-back, step by step (the engine function itself) ---------------------


def stops_at(call: int, then=None):
    """A `check` for container_recreate that does `then` on its call number `call` (1: before
    the rename, 2: after it, 3: after the stop, 4: after the create)."""
    calls = []

    def check() -> None:
        calls.append(1)
        if len(calls) == call and then:
            then()

    return check


def test_a_create_that_fails_after_the_stop_puts_the_original_back(engine, make, docker_api):
    reference = f"berthtest-local/{unique('img')}:1"
    make.image(reference, f"berthtest-local/{unique('keep')}:1")
    name = unique("c")
    container = make.container(command=STOPPABLE, name=name, image=reference)
    plan = engine_recreate.recreate_plan(engine=engine, container_id=name)
    said: list[str] = []

    def untag() -> None:
        docker_api.remove_image(reference)

    with pytest.raises(NotFound) as raised:
        engine_recreate.container_recreate(
            engine=engine, plan=plan, say=said.append, check=stops_at(3, untag)
        )

    assert "No such image" in raised.value.reason
    assert f"renamed {plan.old_name} back to {name}" in raised.value.reason
    original = docker_api.inspect_container(name)
    assert original["Id"] == container["Id"] and original["State"]["Running"]
    assert old_ones(docker_api) == []
    assert f"Roll-back: started {name} again" in said


def test_a_cancel_after_the_create_removes_the_new_one_and_puts_the_original_back(
    engine, make, docker_api
):
    name = unique("c")
    container = make.container(command=STOPPABLE, name=name)
    plan = engine_recreate.recreate_plan(engine=engine, container_id=name)
    said: list[str] = []

    def cancel() -> None:
        raise Cancelled

    with pytest.raises(Cancelled):
        engine_recreate.container_recreate(
            engine=engine, plan=plan, say=said.append, check=stops_at(4, cancel)
        )

    assert any(line.startswith("Roll-back: removed the new container") for line in said)
    original = docker_api.inspect_container(name)
    assert original["Id"] == container["Id"] and original["State"]["Running"]
    assert [row["Id"] for row in docker_api.containers(all=True, filters={"name": name})] == [
        container["Id"]
    ]


# --- recreate: who may, and what is refused -------------------------------------------------


def test_a_staff_member_may_not_recreate_a_container_with_privileged_options(
    staff_client, make, docker_api
):
    name = unique("c")
    container = make.container(command=STOPPABLE, name=name, cap_add=["NET_ADMIN"])

    for body in ({}, {"pull": "1"}):
        response = staff_client.post(f"/containers/{name}/recreate/", body)

        assert response.status_code == 403
        assert b"--cap-add NET_ADMIN" in response.content
    assert not Job.objects.exists()
    assert docker_api.inspect_container(name)["Id"] == container["Id"]


def test_a_staff_member_may_not_recreate_a_container_that_mounts_another_ones_volumes(
    staff_client, make
):
    source = make.container()
    name = unique("c")
    make.container(command=STOPPABLE, name=name, volumes_from=[source["Id"]])

    response = staff_client.post(f"/containers/{name}/recreate/")

    assert response.status_code == 403
    assert b"--volumes-from" in response.content


def test_a_superuser_may_recreate_a_container_with_privileged_options(
    admin_client, make, docker_api
):
    name = unique("c")
    container = make.container(command=STOPPABLE, name=name, cap_add=["NET_ADMIN"])

    job = job_of(admin_client.post(f"/containers/{name}/recreate/"))

    new = docker_api.inspect_container(name)
    make.containers.append(new["Id"])
    assert job.state == Job.DONE, job.result
    assert new["Id"] != container["Id"] and new["HostConfig"]["CapAdd"] == ["NET_ADMIN"]


def test_a_recreate_of_a_container_that_does_not_exist_is_a_404(staff_client):
    response = staff_client.post(f"/containers/{unique('none')}/recreate/", {"pull": "1"})

    assert response.status_code == 404
    assert not Job.objects.exists()


def test_a_container_run_with_rm_is_not_recreated(staff_client, make, docker_api):
    name = unique("c")
    container = make.container(command=STOPPABLE, name=name, auto_remove=True)

    response = staff_client.post(f"/containers/{name}/recreate/")

    assert response.status_code == 409
    assert b"--rm" in response.content
    assert docker_api.inspect_container(name)["Id"] == container["Id"]


def test_a_container_made_from_an_image_id_is_recreated_only_without_pull(staff_client, make):
    name = unique("c")
    image_id = make.image()
    make.container(command=STOPPABLE, name=name, image=image_id[len("sha256:") :][:12])

    response = staff_client.post(f"/containers/{name}/recreate/", {"pull": "1"})

    assert response.status_code == 400
    assert b"without pulling" in response.content
    assert not Job.objects.exists()


def test_the_detail_page_has_the_recreate_buttons_and_the_commit_form(staff_client, make):
    container = make.container()

    page = staff_client.get(f"/containers/{container['Id']}/").content.decode()

    assert f'action="/containers/{container["Id"]}/recreate/"' in page
    assert 'name="pull" value="1"' in page and "Recreate with pull" in page
    assert f'action="/containers/{container["Id"]}/commit/"' in page
    assert 'name="repository"' in page and 'name="change"' in page
    assert '<option value="1" selected>' in page  # pause is on unless one says otherwise
    assert TEST_IMAGE in page


def test_a_viewer_sees_neither_the_buttons_nor_the_form(viewer_client, make):
    container = make.container()

    page = viewer_client.get(f"/containers/{container['Id']}/").content.decode()

    assert "/recreate/" not in page and "/commit/" not in page
