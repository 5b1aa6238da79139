"""`docker run` as a form, its preview and "run similar", against the private engine."""

import asyncio
import dataclasses
import html
import re
import secrets
from urllib.parse import unquote, urlencode

import pytest

from containers_app import cli, tickets
from containers_app.engine import containers as engine_containers
from containers_app.engine.specs import (
    ContainerSpec,
    DeviceMapping,
    MountSpec,
    PortBinding,
    VolumeBind,
    spec_from_inspect,
)
from containers_app.forms import ContainerRunForm
from containers_app.models import AuditEntry
from tests.conftest import HOME_TEAM, TEST_IMAGE, unique, wait_on_condition
from tests.engine.jobs_helpers import job_of
from tests.engine.sockets import connected

# sh as PID 1 ignores SIGTERM unless it traps it; this one stops at once when removed.
STOPPABLE = "sh -c 'trap \"exit 0\" TERM; sleep 600 & wait'"


# --- helpers -------------------------------------------------------------------------------


def text(response) -> str:
    return html.unescape(response.content.decode())


def command_line(response) -> str:
    """The `docker run` line the page or partial shows."""
    found = re.search(
        r'<div id="run-command".*?<code class="cli"[^>]*>(.*?)</code>', text(response), re.S
    )
    assert found, "no command line on the page"
    return found.group(1)


def posted(**fields) -> dict:
    """The form as the page posts it: the image, restart and detach it starts with."""
    data = {"image": TEST_IMAGE, "restart": "no", "detach": "on", **fields}
    return {key: value for key, value in data.items() if value is not None}


def run(client, make, **fields):
    """POSTs the run form; whatever it makes is removed after the test."""
    data = posted(**fields)
    if data.get("name"):
        make.containers.append(data["name"])
    return client.post("/containers/run/", data)


def exists(docker_api, name: str) -> bool:
    return bool(docker_api.containers(all=True, filters={"name": f"^/{name}$"}))


def as_posted(initial: dict) -> dict:
    """A form's initial values as a browser posts them back."""
    return {k: ("on" if v is True else v) for k, v in initial.items() if v is not False}


# --- running -------------------------------------------------------------------------------


def test_it_runs_a_container_with_many_options_as_docker_inspect_shows_them(
    admin_client, make, docker_api
):
    name, volume = unique("run"), unique("v")
    network = make.network()["Name"]
    make.volumes.append(volume)
    host_port = 20000 + secrets.randbelow(30000)

    response = run(
        admin_client,
        make,
        name=name,
        command="sleep 600",
        env="A=1\nB=two words",
        publish=f"80\n{host_port}:81/udp",
        volume=f"{volume}:/data:ro\n/cache",
        mount="type=tmpfs,target=/scratch,tmpfs-size=1m",
        network=network,
        restart="on-failure:2",
        label="com.example.role=web",
        workdir="/tmp",
        user="1000:1000",
        hostname="box",
        memory="64m",
        cpus="0.5",
        cap_drop="MKNOD",
    )

    assert response.status_code == 302, text(response)
    info = docker_api.inspect_container(name)
    assert response["Location"] == f"/containers/{info['Id']}/"
    config, host = info["Config"], info["HostConfig"]
    assert config["Cmd"] == ["sleep", "600"]
    assert {"A=1", "B=two words"} <= set(config["Env"])
    assert config["Labels"]["com.example.role"] == "web"
    assert (config["WorkingDir"], config["User"], config["Hostname"]) == (
        "/tmp",
        "1000:1000",
        "box",
    )
    assert "/cache" in config["Volumes"]
    assert host["PortBindings"] == {
        "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
        "81/udp": [{"HostIp": "127.0.0.1", "HostPort": str(host_port)}],
    }
    assert host["Binds"] == [f"{volume}:/data:ro"]
    assert host["Mounts"] == [
        {"Type": "tmpfs", "Target": "/scratch", "TmpfsOptions": {"SizeBytes": 1024 * 1024}}
    ]
    assert host["NetworkMode"] == network
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert (host["Memory"], host["NanoCpus"]) == (64 * 1024**2, 500_000_000)
    assert host["CapDrop"] == ["MKNOD"]
    assert info["State"]["Running"]
    assert network in info["NetworkSettings"]["Networks"]


def test_a_published_port_without_an_ip_listens_on_loopback_only(admin_client, make, docker_api):
    name = unique("run")

    run(admin_client, make, name=name, command="sleep 600", publish="80")

    ports = docker_api.inspect_container(name)["NetworkSettings"]["Ports"]["80/tcp"]
    assert [p["HostIp"] for p in ports] == ["127.0.0.1"]
    assert int(ports[0]["HostPort"]) > 0


def test_success_says_the_command_line_and_the_audit_keeps_it_without_secrets(admin_client, make):
    name = unique("run")

    response = run(
        admin_client, make, name=name, command="sleep 600", env="DB_PASSWORD=hunter2\nMODE=dev"
    )
    page = admin_client.get(response["Location"])

    expected = cli.container_run(
        ContainerSpec(
            image=TEST_IMAGE,
            name=name,
            command=("sleep", "600"),
            env=("DB_PASSWORD=hunter2", "MODE=dev"),
        ),
        masked=True,
    )
    assert f"Started container {name}: {expected}" in text(page)
    entry = AuditEntry.objects.get(action="run")
    assert (entry.target, entry.command, entry.succeeded) == (name, expected, True)
    assert "hunter2" not in entry.command


def test_the_form_starts_detached_and_a_detached_run_leads_to_the_containers_page(
    admin_client, make, docker_api
):
    page = admin_client.get("/containers/run/")
    name = unique("run")

    response = run(admin_client, make, name=name, command="sleep 600")

    assert re.search(r'<input type="checkbox" name="detach"[^>]* checked', page.content.decode())
    info = docker_api.inspect_container(name)
    assert response["Location"] == f"/containers/{info['Id']}/"
    assert not info["Config"]["AttachStdout"]


def test_a_run_without_detach_leads_to_its_logs_as_docker_run_shows_its_output(
    admin_client, make, docker_api
):
    name = unique("run")

    response = run(admin_client, make, name=name, command="echo hello", detach=None)

    info = docker_api.inspect_container(name)
    assert response["Location"] == f"/containers/{info['Id']}/logs/"
    entry = AuditEntry.objects.get(action="run")
    assert " -d " not in entry.command


def test_a_container_run_with_rm_is_removed_when_it_stops(admin_client, make, docker_api):
    name = unique("run")

    response = run(admin_client, make, name=name, command=STOPPABLE, rm="on")

    assert response.status_code == 302, text(response)
    assert docker_api.inspect_container(name)["HostConfig"]["AutoRemove"] is True
    docker_api.stop(name, timeout=5)
    wait_on_condition(lambda: not exists(docker_api, name))


def test_the_image_of_the_query_string_fills_the_form_and_the_command_line(admin_client):
    response = admin_client.get("/containers/run/", {"image": TEST_IMAGE})

    assert response.status_code == 200
    assert command_line(response) == f"docker run -d {TEST_IMAGE}"
    assert f'name="image" value="{TEST_IMAGE}"' in text(response)


def test_a_get_of_the_run_page_runs_nothing(admin_client, make, docker_api):
    # An image of this test's own: the engine may be shared with other runs of the tests.
    image = f"berthtest-local/{unique('img')}:1"
    make.image(image)

    response = admin_client.get("/containers/run/", {"image": image, "name": unique("run")})

    assert response.status_code == 200
    assert docker_api.containers(all=True, filters={"ancestor": image}) == []


# --- refusals ------------------------------------------------------------------------------


def test_a_bad_line_is_a_400_with_its_reason_and_nothing_runs(admin_client, make, docker_api):
    name = unique("run")

    response = run(admin_client, make, name=name, publish="8000-8010:80")

    assert response.status_code == 400
    assert "Line 1 (8000-8010:80): one port a line: ranges are not taken." in text(response)
    assert not exists(docker_api, name)


def test_a_name_in_use_is_a_409_on_the_form_naming_no_other_container(admin_client, make):
    holder = make.container()
    taken = holder["Name"].lstrip("/")

    response = run(admin_client, make, name=taken, command="sleep 600", env="KEEP=me")

    assert response.status_code == 409
    assert f"The container name {taken} is already taken" in text(response)
    assert holder["Id"][:12] not in text(response)
    assert "KEEP=me</textarea>" in text(response)
    entry = AuditEntry.objects.get(action="run")
    assert (entry.target, entry.succeeded) == (taken, False)
    assert "is already taken" in entry.message


@pytest.mark.django_db(transaction=True)
def test_an_image_the_engine_lacks_is_pulled_first_then_run(
    staff_client, make, docker_api, registry
):
    """As `docker run` does: the pull is a job with its progress, and the container runs
    once the image is there."""
    image = f"{registry.address}/{unique('img')}:1"
    image_id = make.image(image)
    for line in docker_api.push(image, stream=True, decode=True):
        assert "error" not in line, line
    docker_api.remove_image(image_id, force=True)
    name = unique("run")

    job = job_of(run(staff_client, make, name=name, image=image, command=STOPPABLE))

    make.images.append(image)
    assert (job.kind, job.state, job.team) == ("run", "done", HOME_TEAM), job.result
    assert job.command.startswith("docker run -d --name " + name)
    assert "Pulling from" in job.output and f"Started container {name}" in job.result
    container = docker_api.inspect_container(name)
    assert container["State"]["Running"]
    assert container["Config"]["Labels"]["berth.team"] == HOME_TEAM
    entry = AuditEntry.objects.get(action="run", target=name)
    assert entry.succeeded and entry.team == HOME_TEAM


@pytest.mark.django_db(transaction=True)
def test_an_image_no_registry_has_fails_the_run_and_makes_no_container(
    admin_client, make, docker_api, registry
):
    name = unique("run")
    image = f"{registry.address}/berthtest-absent/{unique('img')}:1"

    job = job_of(run(admin_client, make, name=name, image=image))

    assert job.state == "failed"
    assert "manifest unknown" in job.result or "not found" in job.result
    assert not exists(docker_api, name)


def test_a_container_that_cannot_start_is_removed_and_the_form_says_so(
    admin_client, make, docker_api
):
    name = unique("run")

    response = run(admin_client, make, name=name, command="berth-no-such-program")

    assert response.status_code == 400
    assert "executable file not found" in text(response)
    assert "the container could not start, so it was removed" in text(response)
    assert not exists(docker_api, name)


PRIVILEGED = [
    ({"privileged": "on"}, "--privileged gives the container every capability of the host's root"),
    ({"cap_add": "SYS_ADMIN"}, "--cap-add SYS_ADMIN gives the container that capability"),
    ({"device": "/dev/null"}, "--device /dev/null gives the container the host's device"),
    ({"network": "host"}, "--network host puts the container in the host's own network stack"),
    ({"pid": "host"}, "--pid host lets the container see and signal every process of the host"),
    ({"ipc": "host"}, "--ipc host shares the host's shared memory and semaphores"),
    ({"userns": "host"}, "--userns host turns off user-namespace remapping"),
    ({"security_opt": "seccomp=unconfined"}, "--security-opt seccomp=unconfined changes the"),
    ({"volume": "/etc:/host-etc:ro"}, "--volume /etc:/host-etc mounts the host's folder /etc"),
    (
        {"mount": "type=bind,source=/etc,target=/host-etc"},
        "--mount type=bind,source=/etc,target=/host-etc mounts the host's folder /etc",
    ),
    (
        {"volume": "/var/run/docker.sock:/var/run/docker.sock"},
        "--volume /var/run/docker.sock:/var/run/docker.sock mounts the Docker socket",
    ),
    (
        {"mount": "type=bind,source=/run,target=/host-run"},
        "--mount type=bind,source=/run,target=/host-run mounts the Docker socket",
    ),
]


@pytest.mark.parametrize(("fields", "reason"), PRIVILEGED, ids=[r[1][:18] for r in PRIVILEGED])
def test_a_staff_member_who_is_not_a_superuser_may_not_use_a_privileged_option(
    staff_client, make, docker_api, fields, reason
):
    name = unique("run")

    response = run(staff_client, make, name=name, command="sleep 600", **fields)

    assert response.status_code == 403
    assert "Only a superuser may run a container with these options" in text(response)
    assert reason in text(response)
    assert not exists(docker_api, name)
    assert not AuditEntry.objects.exists()


def test_a_named_volume_that_binds_a_host_folder_is_refused_to_a_staff_member(
    staff_client, make, docker_api
):
    volume = make.volume(
        driver="local", driver_opts={"type": "none", "o": "bind", "device": "/etc"}
    )
    name = unique("run")

    response = run(staff_client, make, name=name, volume=f"{volume['Name']}:/host-etc")

    assert response.status_code == 403
    assert (
        f"--volume {volume['Name']}:/host-etc: the volume {volume['Name']} is a local volume "
        "with the options device=/etc,o=bind,type=none" in text(response)
    )
    assert not exists(docker_api, name)


def test_a_staff_member_may_run_what_stays_inside_the_container(staff_client, make, docker_api):
    name = unique("run")

    response = run(
        staff_client,
        make,
        name=name,
        command="sleep 600",
        cap_drop="ALL",
        security_opt="no-new-privileges",
        mount="type=tmpfs,target=/scratch",
    )

    assert response.status_code == 302, text(response)
    assert docker_api.inspect_container(name)["HostConfig"]["CapDrop"] == ["ALL"]


def test_a_superuser_may_run_a_container_with_host_folders(admin_client, make, docker_api):
    name = unique("run")

    response = run(
        admin_client,
        make,
        name=name,
        command="sleep 600",
        volume="/etc:/host-etc:ro",
        mount="type=bind,source=/tmp,target=/host-tmp,readonly",
    )

    assert response.status_code == 302, text(response)
    host = docker_api.inspect_container(name)["HostConfig"]
    assert host["Binds"] == ["/etc:/host-etc:ro"]
    assert host["Mounts"] == [
        {"Type": "bind", "Source": "/tmp", "Target": "/host-tmp", "ReadOnly": True}
    ]


def test_a_superusers_privileged_run_is_let_through_to_the_engine(admin_client, make, docker_api):
    name = unique("run")

    response = run(admin_client, make, name=name, command="sleep 600", privileged="on")

    # The test engine runs with fewer capabilities than all: it may refuse to start a
    # privileged container, and then says why; Berth itself refuses nothing.
    assert "Only a superuser" not in text(response)
    entry = AuditEntry.objects.get(action="run")
    assert f"docker run -d --name {name} --privileged" in entry.command
    if response.status_code == 302:
        assert docker_api.inspect_container(name)["HostConfig"]["Privileged"] is True
    else:
        assert "the container could not start, so it was removed" in text(response)
        assert not entry.succeeded and not exists(docker_api, name)


def test_a_viewer_may_not_open_the_run_form_nor_run(viewer_client, make, docker_api):
    name = unique("run")

    assert viewer_client.get("/containers/run/").status_code == 403
    assert run(viewer_client, make, name=name, command="sleep 600").status_code == 403
    assert not exists(docker_api, name)


# --- the terminal of -it -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_interactive_tty_run_opens_a_terminal_in_the_new_container(
    admin_client, admin_user, make, docker_api
):
    name = unique("run")

    response = run(admin_client, make, name=name, command="sh", interactive="on", tty="on")

    assert response.status_code == 200, response.get("Location")
    container_id = docker_api.inspect_container(name)["Id"]
    ticket = html.unescape(re.search(r'data-ticket="([^"]*)"', response.content.decode())[1])
    grant = tickets.grant(ticket, user_id=admin_user.pk, container_id=container_id)
    assert grant.command == ("sh",)
    assert f'data-socket="/ws/containers/{container_id}/exec/"' in text(response)
    # The terminal page's own form opens further terminals there, never another run.
    assert f'action="/containers/{container_id}/exec/"' in text(response)
    assert f"Started container {name}: docker run -d -it --name {name}" in text(response)

    query = urlencode({"ticket": ticket, "cols": "80", "rows": "24"})
    output = asyncio.run(_typed(f"/ws/containers/{container_id}/exec/?{query}", admin_user))

    assert "out:42:end" in output


async def _typed(path: str, user) -> str:
    """What a terminal shows after `echo "out:$((6*7)):end"` is typed into it."""
    communicator = await connected(path, user)
    await communicator.send_to(bytes_data=b'echo "out:$((6*7)):end"\n')
    output = b""
    try:
        while b"out:42:end" not in output:
            message = await communicator.receive_output(timeout=15)
            assert message["type"] != "websocket.close", output
            output += message.get("bytes") or b""
    finally:
        await communicator.disconnect()
    return output.decode("utf-8", "replace")


# --- the preview ---------------------------------------------------------------------------


def test_the_preview_answers_the_command_line_of_the_form_and_runs_nothing(
    staff_client, docker_api
):
    name = unique("run")

    response = staff_client.post(
        "/containers/run/preview/",
        posted(name=name, command="sleep 600", env="DB_PASSWORD=hunter2", publish="8080:80"),
    )

    assert response.status_code == 200
    # The only team the staff member may run for is chosen already; its label is Berth's,
    # and its container runs on the team's own network.
    assert command_line(response) == (
        f"docker run -d --name {name} -e DB_PASSWORD=hunter2 -p 127.0.0.1:8080:80 "
        f"--network berth-team-{HOME_TEAM} --label berth.team={HOME_TEAM} {TEST_IMAGE} sleep 600"
    )
    assert not exists(docker_api, name)
    assert not AuditEntry.objects.exists()


def test_the_preview_says_what_is_wrong_with_the_form(staff_client):
    response = staff_client.post("/containers/run/preview/", posted(publish="http"))

    assert response.status_code == 200
    assert "publish: Line 1 (http): a port is a number from 1 to 65535" in text(response)


def test_the_preview_tells_a_staff_member_which_options_need_a_superuser(staff_client):
    response = staff_client.post("/containers/run/preview/", posted(privileged="on"))

    assert response.status_code == 200
    assert (
        f"docker run -d --network berth-team-{HOME_TEAM} --label berth.team={HOME_TEAM} "
        "--privileged" in command_line(response)
    )
    assert "--privileged gives the container every capability" in text(response)


def test_the_run_page_previews_as_it_is_filled_by_post_on_input(admin_client):
    markup = admin_client.get("/containers/run/").content.decode()

    form = re.search(r'<form class="create run".*?>', markup, re.S)[0]
    assert 'hx-post="/containers/run/preview/"' in form
    assert 'hx-trigger="input delay:400ms, change"' in form
    assert 'hx-target="#run-command"' in form
    assert "<script>" not in markup


# --- run similar ---------------------------------------------------------------------------


def test_spec_from_inspect_gives_back_the_spec_a_container_was_run_with(engine, make, docker_api):
    volume, logs = unique("v"), unique("v")
    make.volumes += [volume, logs]
    spec = ContainerSpec(
        image=TEST_IMAGE,
        name=unique("run"),
        command=("sh", "-c", "sleep 600"),
        env=("A=1", "PATH=/usr/bin:/bin", "B=two words"),
        publish=(
            PortBinding(80, "tcp", "127.0.0.1", None),
            PortBinding(81, "udp", "127.0.0.1", 20000 + secrets.randbelow(30000)),
        ),
        volume=(VolumeBind(volume, "/data", "ro"), VolumeBind("", "/cache")),
        mount=(
            MountSpec("tmpfs", "/scratch", tmpfs_size=1024**2, tmpfs_mode=0o1777),
            MountSpec("volume", "/logs", logs, read_only=True),
        ),
        network=make.network()["Name"],
        restart="on-failure",
        restart_max_retries=2,
        label=(("com.example.role", "web"), ("flag", "")),
        workdir="/tmp",
        user="1000:1000",
        hostname="box",
        tty=True,
        interactive=True,
        memory=64 * 1024**2,
        nano_cpus=500_000_000,
        cap_add=("NET_ADMIN",),
        cap_drop=("MKNOD",),
        device=(DeviceMapping("/dev/null", "/dev/berth-null", "rwm"),),
        pid="host",
        ipc="shareable",
        userns="host",
        security_opt=("no-new-privileges",),
    )

    container_id = engine_containers.container_run(engine=engine, spec=spec)
    make.containers.append(container_id)
    info = docker_api.inspect_container(container_id)
    read_back = spec_from_inspect(info, image=docker_api.inspect_image(TEST_IMAGE))

    assert read_back == spec
    assert cli.container_run(read_back) == cli.container_run(spec)
    similar = engine_containers.container_spec(engine=engine, container_id=spec.name)
    assert (similar.name, similar.spec, similar.not_copied) == (spec.name, spec, ())


def test_spec_from_inspect_reads_an_attached_run_with_its_entrypoint_reset(
    engine, make, docker_api
):
    image = make.image(f"berthtest-entry/{unique('img')}:1", dockerfile_line='ENTRYPOINT ["false"]')
    spec = ContainerSpec(
        image=docker_api.inspect_image(image)["RepoTags"][0],
        name=unique("run"),
        command=("sleep", "600"),
        entrypoint=(),
        rm=True,
        detach=False,
        network="none",
    )

    container_id = engine_containers.container_run(engine=engine, spec=spec)
    make.containers.append(container_id)
    info = docker_api.inspect_container(container_id)

    assert spec_from_inspect(info, image=docker_api.inspect_image(image)) == spec
    assert "--entrypoint '' " in cli.container_run(spec)


def test_spec_from_inspect_reads_a_privileged_container_without_the_label_the_engine_adds(
    make, docker_api
):
    # Created, not started: the test engine may not have every capability to start it.
    container = make.container(state="created", privileged=True)

    assert "label=disable" in container["HostConfig"]["SecurityOpt"]
    spec = spec_from_inspect(container, image=docker_api.inspect_image(TEST_IMAGE))
    assert (spec.privileged, spec.security_opt) == (True, ())


def test_spec_from_inspect_keeps_a_longer_entrypoint_of_its_own(engine, make, docker_api):
    spec = ContainerSpec(
        image=TEST_IMAGE, name=unique("run"), entrypoint=("sh", "-c"), command=("sleep 600",)
    )

    container_id = engine_containers.container_run(engine=engine, spec=spec)
    make.containers.append(container_id)

    read_back = spec_from_inspect(
        docker_api.inspect_container(container_id), image=docker_api.inspect_image(TEST_IMAGE)
    )
    assert read_back == spec
    assert docker_api.inspect_container(container_id)["State"]["Running"]


def test_run_similar_fills_the_form_so_that_running_it_makes_a_like_container(
    admin_client, make, docker_api
):
    name, volume = unique("run"), unique("v")
    make.volumes.append(volume)
    run(
        admin_client,
        make,
        name=name,
        command=STOPPABLE,
        env="A=1\nB=two words",
        publish="80\n0.0.0.0::81/udp",
        volume=f"{volume}:/data:ro",
        mount="type=tmpfs,target=/scratch,tmpfs-size=1m",
        restart="unless-stopped",
        label="com.example.role=web",
        workdir="/tmp",
        memory="64m",
        cpus="0.5",
    )

    page = admin_client.get(f"/containers/{name}/run-similar/")

    assert page.status_code == 200
    initial = page.context["form"].initial
    assert initial["name"] == f"{name}-2"
    assert initial["publish"] == "127.0.0.1::80\n0.0.0.0::81/udp"
    original = spec_from_inspect(
        docker_api.inspect_container(name), image=docker_api.inspect_image(TEST_IMAGE)
    )
    assert command_line(page) == cli.container_run(dataclasses.replace(original, name=f"{name}-2"))
    assert f"-v {volume}:/data:ro --mount type=tmpfs,target=/scratch,tmpfs-size=1m" in (
        command_line(page)
    )

    response = run(admin_client, make, **as_posted(initial))

    assert response.status_code == 302, text(response)
    copy = spec_from_inspect(
        docker_api.inspect_container(f"{name}-2"), image=docker_api.inspect_image(TEST_IMAGE)
    )
    assert copy == dataclasses.replace(original, name=f"{name}-2")


def test_run_similar_names_what_it_could_not_copy(admin_client, make):
    container = make.container(dns=["192.0.2.53"], extra_hosts={"db": "192.0.2.10"})

    page = admin_client.get(f"/containers/{container['Id']}/run-similar/")

    assert page.status_code == 200
    assert "Not copied from" in text(page)
    assert "--add-host, --dns" in text(page)


def test_run_similar_of_a_privileged_container_warns_a_staff_member(staff_client, make):
    # Created, not started: the test engine may not have every capability to start it.
    container = make.container(state="created", privileged=True)

    page = staff_client.get(f"/containers/{container['Id']}/run-similar/")

    assert page.status_code == 200
    assert "--privileged gives the container every capability" in text(page)


def test_run_similar_of_no_such_container_is_a_404(admin_client):
    assert admin_client.get(f"/containers/{unique('none')}/run-similar/").status_code == 404


def test_the_form_of_run_similar_posts_to_the_run_page(admin_client, make):
    container = make.container()

    markup = admin_client.get(f"/containers/{container['Id']}/run-similar/").content.decode()

    assert re.search(r'<form class="create run" method="post" action="/containers/run/"', markup)


# --- the buttons ---------------------------------------------------------------------------


def test_the_pages_link_to_the_run_form(admin_client, viewer_client, make, docker_api):
    container = make.container()
    image_id = docker_api.inspect_image(TEST_IMAGE)["Id"]

    listing = text(admin_client.get("/containers/"))
    detail = text(admin_client.get(f"/containers/{container['Id']}/"))
    image = text(admin_client.get(f"/images/{image_id}/"))

    assert 'href="/containers/run/"' in listing
    assert f'href="/containers/{container["Id"]}/run-similar/"' in detail
    prefilled = re.search(r'href="/containers/run/\?image=([^"]+)"', image)
    assert prefilled, "the image page has no Run button"
    assert unquote(prefilled[1]) in docker_api.inspect_image(image_id)["RepoTags"]
    assert 'href="/containers/run/"' not in text(viewer_client.get("/containers/"))


def test_the_form_holds_what_docker_run_takes(admin_client):
    form = ContainerRunForm()

    expected = {
        "image", "name", "command", "entrypoint", "env", "env_file", "publish", "volume",
        "mount", "network", "restart", "label", "workdir", "user", "hostname", "tty",
        "interactive", "rm", "memory", "cpus", "detach", "privileged", "cap_add", "cap_drop",
        "device", "pid", "ipc", "userns", "security_opt",
    }  # fmt: skip
    assert set(form.fields) == expected
    page = text(admin_client.get("/containers/run/"))
    assert 'enctype="multipart/form-data"' in page
    assert all(f'name="{field}"' in page for field in expected)


def test_a_volume_mount_without_a_source_is_an_anonymous_volume(admin_client, make, docker_api):
    name = unique("run")

    response = run(
        admin_client, make, name=name, command="sleep 600", mount="type=volume,target=/x"
    )

    assert response.status_code == 302, text(response)
    mounts = docker_api.inspect_container(name)["Mounts"]
    assert [(m["Type"], m["Destination"], len(m["Name"])) for m in mounts] == [("volume", "/x", 64)]


def test_options_the_engine_refuses_are_a_400_with_its_reason_on_the_form(
    admin_client, make, docker_api
):
    name = unique("run")

    response = run(admin_client, make, name=name, mount="type=volume,target=/x,readonly")

    assert response.status_code == 400
    assert "must not set ReadOnly mode when using anonymous volumes" in text(response)
    assert "type=volume,target=/x,readonly</textarea>" in text(response)
    assert not exists(docker_api, name)
