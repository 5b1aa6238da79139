"""The `docker run` line of a ContainerSpec: the exact words docker would be given."""

import shlex

import pytest

from containers_app import cli
from containers_app.engine.specs import (
    ContainerSpec,
    DeviceMapping,
    MountSpec,
    PortBinding,
    VolumeBind,
    format_cpus,
    format_size,
)
from containers_app.masking import MASK

IMAGE = "berth-test/busybox:latest"


def words(spec: ContainerSpec, **options) -> list[str]:
    return shlex.split(cli.container_run(spec, **options))


def test_a_spec_of_just_an_image_runs_it_detached():
    assert cli.container_run(ContainerSpec(image=IMAGE)) == f"docker run -d {IMAGE}"


def test_an_attached_run_has_no_d_and_interactive_and_tty_are_i_and_t():
    assert words(ContainerSpec(image=IMAGE, detach=False)) == ["docker", "run", IMAGE]
    spec = ContainerSpec(image=IMAGE, interactive=True, tty=True, command=("sh",))
    assert words(spec) == ["docker", "run", "-d", "-it", IMAGE, "sh"]
    assert "-i" in words(ContainerSpec(image=IMAGE, interactive=True))
    assert "-t" in words(ContainerSpec(image=IMAGE, tty=True))


def test_every_option_of_a_spec_is_on_the_line_in_docker_words():
    spec = ContainerSpec(
        image=IMAGE,
        name="web",
        command=("sh", "-c", "echo hi"),
        env=("A=1", "B=two words"),
        publish=(PortBinding(80, "tcp", "127.0.0.1", 8080), PortBinding(53, "udp", "::1", None)),
        volume=(VolumeBind("data", "/data", "ro"), VolumeBind("", "/cache")),
        mount=(MountSpec("tmpfs", "/t", tmpfs_size=1024**2, tmpfs_mode=0o1777),),
        network="backend",
        restart="on-failure",
        restart_max_retries=3,
        label=(("role", "web"), ("flag", "")),
        workdir="/srv",
        user="1000:1000",
        hostname="box",
        rm=True,
        memory=512 * 1024**2,
        nano_cpus=1_500_000_000,
        privileged=True,
        cap_add=("NET_ADMIN",),
        cap_drop=("MKNOD",),
        device=(DeviceMapping("/dev/fuse", "/dev/fuse"), DeviceMapping("/dev/sda", "/dev/b", "r")),
        pid="host",
        ipc="host",
        userns="host",
        security_opt=("seccomp=unconfined",),
    )

    assert words(spec) == [
        "docker", "run", "-d", "--rm", "--name", "web", "--hostname", "box",
        "--user", "1000:1000", "--workdir", "/srv",
        "-e", "A=1", "-e", "B=two words",
        "-p", "127.0.0.1:8080:80", "-p", "[::1]::53/udp",
        "-v", "data:/data:ro", "-v", "/cache",
        "--mount", "type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1777",
        "--network", "backend", "--restart", "on-failure:3",
        "--label", "role=web", "--label", "flag",
        "--memory", "512m", "--cpus", "1.5",
        "--privileged", "--cap-add", "NET_ADMIN", "--cap-drop", "MKNOD",
        "--device", "/dev/fuse", "--device", "/dev/sda:/dev/b:r",
        "--pid", "host", "--ipc", "host", "--userns", "host",
        "--security-opt", "seccomp=unconfined",
        IMAGE, "sh", "-c", "echo hi",
    ]  # fmt: skip


def test_a_port_on_every_interface_is_written_without_an_ip_as_docker_reads_it():
    assert cli.publish_value(PortBinding(80, "tcp", "", 8080)) == "8080:80"
    assert cli.publish_value(PortBinding(80, "udp", "", None)) == "80/udp"
    assert cli.publish_value(PortBinding(80, "tcp", "127.0.0.1", None)) == "127.0.0.1::80"


def test_a_longer_entrypoint_puts_its_first_word_in_entrypoint_and_the_rest_before_the_command():
    spec = ContainerSpec(image=IMAGE, entrypoint=("sh", "-c"), command=("echo hi",))

    assert words(spec) == ["docker", "run", "-d", "--entrypoint", "sh", IMAGE, "-c", "echo hi"]


def test_a_reset_entrypoint_is_an_empty_word():
    assert words(ContainerSpec(image=IMAGE, entrypoint=())) == [
        "docker", "run", "-d", "--entrypoint", "", IMAGE,
    ]  # fmt: skip


def test_restart_no_and_empty_values_add_no_flags():
    assert words(ContainerSpec(image=IMAGE, restart="no", workdir="", memory=0)) == [
        "docker",
        "run",
        "-d",
        IMAGE,
    ]


def test_masked_hides_only_the_values_of_secret_looking_variables():
    spec = ContainerSpec(image=IMAGE, env=("DB_PASSWORD=hunter2", "API_TOKEN=t", "MODE=prod"))

    line = cli.container_run(spec, masked=True)

    assert "hunter2" not in line
    assert words(spec, masked=True)[3:9] == [
        "-e", f"DB_PASSWORD={MASK}", "-e", f"API_TOKEN={MASK}", "-e", "MODE=prod",
    ]  # fmt: skip
    assert "hunter2" in cli.container_run(spec)


@pytest.mark.parametrize(
    "hostile", ["a=b c", "x=$(rm -rf /)", "it's", "`reboot`", "a;b&&c|d", "$HOME", "line\nbreak"]
)
def test_values_a_shell_would_split_or_run_are_quoted(hostile):
    spec = ContainerSpec(
        image=IMAGE,
        env=(f"V={hostile}",),
        label=(("l", hostile),),
        command=("echo", hostile),
        workdir=f"/{hostile}",
    )

    said = words(spec)

    assert f"V={hostile}" in said
    assert f"l={hostile}" in said
    assert said[-2:] == ["echo", hostile]
    assert f"/{hostile}" in said


@pytest.mark.parametrize(
    ("size", "written"),
    [
        (512 * 1024**2, "512m"),
        (1024**3, "1g"),
        (1536 * 1024**2, "1536m"),
        (4096, "4k"),
        (1000, "1000"),
    ],
)
def test_sizes_are_written_in_the_largest_exact_unit(size, written):
    assert format_size(size) == written


@pytest.mark.parametrize(
    ("nano", "written"), [(1_500_000_000, "1.5"), (2_000_000_000, "2"), (10_000_000, "0.01")]
)
def test_cpus_are_written_as_docker_takes_them(nano, written):
    assert format_cpus(nano) == written
