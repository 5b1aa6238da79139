"""A container's spec read back from its inspect data, and which options only a superuser
may run, without an engine."""

import pytest

from containers_app import access, rules
from containers_app.engine.specs import (
    ContainerSpec,
    DeviceMapping,
    MountSpec,
    PortBinding,
    VolumeBind,
    settings_not_copied,
    spec_from_inspect,
)

IMAGE = "app:1"
CONTAINER_ID = "0123456789ab" + "c" * 52
IMAGE_INSPECT = {
    "Config": {
        "Env": ["PATH=/bin", "MODE=prod"],
        "Cmd": ["serve"],
        "Entrypoint": ["/entry.sh"],
        "Labels": {"org.opencontainers.image.title": "app", "tier": "web"},
        "WorkingDir": "/app",
        "User": "app",
        "Volumes": {"/var/lib/app": {}},
        "ExposedPorts": {"8000/tcp": {}},
    }
}


def inspect(config: dict | None = None, host: dict | None = None, **top) -> dict:
    """The inspect data of a container run from IMAGE with nothing but what is given."""
    return {
        "Id": CONTAINER_ID,
        "Name": "/web",
        "Config": {
            "Image": IMAGE,
            "Hostname": CONTAINER_ID[:12],
            "Env": ["PATH=/bin", "MODE=prod"],
            "Cmd": ["serve"],
            "Entrypoint": ["/entry.sh"],
            "Labels": {"org.opencontainers.image.title": "app", "tier": "web"},
            "WorkingDir": "/app",
            "User": "app",
            "Volumes": {"/var/lib/app": {}},
            "ExposedPorts": {"8000/tcp": {}},
            **(config or {}),
        },
        "HostConfig": {
            "NetworkMode": "default",
            "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
            "IpcMode": "private",
            "LogConfig": {"Type": "json-file", "Config": {}},
            "ShmSize": 64 * 1024 * 1024,
            "Runtime": "runc",
            **(host or {}),
        },
        **top,
    }


def test_a_container_run_with_nothing_but_its_image_gives_a_spec_of_just_the_image():
    assert spec_from_inspect(inspect(), image=IMAGE_INSPECT) == ContainerSpec(
        image=IMAGE, name="web"
    )
    assert settings_not_copied(inspect(), image=IMAGE_INSPECT) == ()


def test_what_differs_from_the_image_is_kept_and_what_the_image_gives_is_left_out():
    container = inspect(
        config={
            "Env": ["MODE=dev", "PATH=/bin", "EXTRA=1"],
            "Labels": {"org.opencontainers.image.title": "app", "tier": "db", "mine": "x"},
            "WorkingDir": "/srv",
            "User": "root",
            "Hostname": "box",
        }
    )

    spec = spec_from_inspect(container, image=IMAGE_INSPECT)

    assert spec.env == ("MODE=dev", "EXTRA=1")
    assert spec.label == (("mine", "x"), ("tier", "db"))
    assert (spec.workdir, spec.user, spec.hostname) == ("/srv", "root", "box")


def test_without_the_image_everything_is_spelled_out():
    spec = spec_from_inspect(inspect(), image=None)

    assert spec.env == ("PATH=/bin", "MODE=prod")
    assert spec.entrypoint == ("/entry.sh",)
    assert spec.command == ("serve",)
    assert spec.workdir == "/app"


def test_a_command_of_its_own_is_kept_and_the_images_entrypoint_left_out():
    spec = spec_from_inspect(inspect(config={"Cmd": ["worker"]}), image=IMAGE_INSPECT)

    assert (spec.entrypoint, spec.command) == (None, ("worker",))


def test_with_an_entrypoint_of_its_own_even_the_images_command_was_asked_for():
    spec = spec_from_inspect(inspect(config={"Entrypoint": ["/other"]}), image=IMAGE_INSPECT)

    assert (spec.entrypoint, spec.command) == (("/other",), ("serve",))


def test_an_entrypoint_the_engine_stores_as_none_was_reset():
    spec = spec_from_inspect(
        inspect(config={"Entrypoint": None, "Cmd": ["sleep", "1"]}), image=IMAGE_INSPECT
    )

    assert (spec.entrypoint, spec.command) == ((), ("sleep", "1"))


def test_ports_volumes_mounts_and_host_settings_are_read():
    container = inspect(
        config={"Volumes": {"/var/lib/app": {}, "/cache": {}, "/data": {}}, "OpenStdin": True},
        host={
            "PortBindings": {
                "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
                "53/udp": [{"HostIp": "", "HostPort": ""}],
            },
            "Binds": ["data:/data:ro", "/srv:/srv"],
            "Mounts": [
                {"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1048576}},
                {"Type": "volume", "Source": "logs", "Target": "/logs", "ReadOnly": True},
            ],
            "NetworkMode": "backend",
            "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2},
            "AutoRemove": False,
            "Memory": 64 * 1024**2,
            "MemorySwap": 128 * 1024**2,
            "NanoCpus": 500_000_000,
            "Privileged": True,
            "CapAdd": ["NET_ADMIN"],
            "CapDrop": ["MKNOD"],
            "Devices": [
                {
                    "PathOnHost": "/dev/fuse",
                    "PathInContainer": "/dev/fuse",
                    "CgroupPermissions": "rwm",
                }
            ],
            "PidMode": "host",
            "IpcMode": "shareable",
            "UsernsMode": "host",
            "SecurityOpt": ["no-new-privileges"],
        },
    )

    spec = spec_from_inspect(container, image=IMAGE_INSPECT)

    assert spec.publish == (
        PortBinding(53, "udp", "", None),
        PortBinding(80, "tcp", "127.0.0.1", 8080),
    )
    assert spec.volume == (
        VolumeBind("data", "/data", "ro"),
        VolumeBind("/srv", "/srv", ""),
        VolumeBind("", "/cache"),
    )
    assert spec.mount == (
        MountSpec("tmpfs", "/t", tmpfs_size=1048576),
        MountSpec("volume", "/logs", "logs", read_only=True),
    )
    assert (spec.network, spec.restart_flag, spec.memory, spec.nano_cpus) == (
        "backend",
        "on-failure:2",
        64 * 1024**2,
        500_000_000,
    )
    assert spec.interactive and spec.privileged
    assert (spec.cap_add, spec.cap_drop) == (("NET_ADMIN",), ("MKNOD",))
    assert spec.device == (DeviceMapping("/dev/fuse", "/dev/fuse", "rwm"),)
    assert (spec.pid, spec.ipc, spec.userns) == ("host", "shareable", "host")
    assert spec.security_opt == ("no-new-privileges",)
    # Twice the memory is the swap limit the engine sets by itself.
    assert settings_not_copied(container, image=IMAGE_INSPECT) == ()


def test_a_container_run_attached_was_not_detached():
    container = inspect(config={"AttachStdout": True, "AttachStderr": True})

    assert spec_from_inspect(container, image=IMAGE_INSPECT).detach is False


def test_the_hostname_of_a_container_on_the_hosts_network_is_the_hosts_and_not_copied():
    container = inspect(config={"Hostname": "the-host"}, host={"NetworkMode": "host"})

    assert spec_from_inspect(container, image=IMAGE_INSPECT).hostname == ""


def test_settings_a_spec_cannot_hold_are_named_as_docker_run_flags():
    container = inspect(
        config={"ExposedPorts": {"8000/tcp": {}, "9000/tcp": {}}, "StopSignal": "SIGINT"},
        host={
            "Dns": ["1.1.1.1"],
            "ExtraHosts": ["db:10.0.0.2"],
            "Tmpfs": {"/run": ""},
            "LogConfig": {"Type": "syslog", "Config": {}},
            "ShmSize": 128 * 1024 * 1024,
            "Init": True,
            "Memory": 64 * 1024**2,
            "MemorySwap": 64 * 1024**2,
        },
        NetworkSettings={"Networks": {"bridge": {}, "backend": {}}},
    )

    assert settings_not_copied(container, image=IMAGE_INSPECT) == (
        "--add-host",
        "--dns",
        "--log-driver syslog",
        "--tmpfs",
        "--memory-swap",
        "--shm-size",
        "--init",
        "--stop-signal",
        "--expose 9000/tcp",
        "--network backend",
    )


# --- access --------------------------------------------------------------------------------


def person(*, superuser: bool = False, roles: dict | None = None) -> access.Actor:
    return access.Actor(
        name="someone", user_id=1, active=True, superuser=superuser, roles=roles or {}
    )


def test_only_a_superuser_may_run_privileged_containers():
    assert access.allowed(person(superuser=True), access.RUN_PRIVILEGED)
    assert not access.allowed(person(roles={"team": "admin"}), access.RUN_PRIVILEGED)
    assert not access.allowed(person(), access.RUN_PRIVILEGED)


PRIVILEGED = [
    ({"privileged": True}, "--privileged gives the container every capability of the host's root"),
    ({"cap_add": ("SYS_ADMIN",)}, "--cap-add SYS_ADMIN gives the container that capability"),
    ({"device": (DeviceMapping("/dev/sda", "/dev/sda"),)}, "--device /dev/sda gives"),
    ({"network": "host"}, "--network host puts the container in the host's own network stack"),
    ({"network": "container:other"}, "--network container:other joins another container's"),
    ({"pid": "host"}, "--pid host lets the container see and signal every process of the host"),
    ({"pid": "container:other"}, "--pid container:other joins another container's processes"),
    ({"ipc": "host"}, "--ipc host shares the host's shared memory"),
    ({"ipc": "container:other"}, "--ipc container:other joins another container's"),
    ({"userns": "host"}, "--userns host turns off user-namespace remapping"),
    ({"security_opt": ("apparmor=unconfined",)}, "--security-opt apparmor=unconfined changes"),
    ({"volume": (VolumeBind("/etc", "/host-etc"),)}, "--volume /etc:/host-etc mounts the host's"),
    (
        {"mount": (MountSpec("bind", "/host", "/"),)},
        "--mount type=bind,source=/,target=/host mounts the Docker socket",
    ),
    (
        {"volume": (VolumeBind("/var/run/docker.sock", "/docker.sock"),)},
        "--volume /var/run/docker.sock:/docker.sock mounts the Docker socket",
    ),
    (
        {"volume": (VolumeBind("/run", "/host-run"),)},
        "--volume /run:/host-run mounts the Docker socket",
    ),
    (
        {"mount": (MountSpec("bind", "/sock", "/home/me/.docker/run/docker.sock"),)},
        "mounts the Docker socket",
    ),
]


@pytest.mark.parametrize(("options", "reason"), PRIVILEGED)
def test_each_option_that_reaches_the_host_is_named_with_why(options, reason):
    reasons = rules.privileged_options(ContainerSpec(image=IMAGE, **options))

    assert len(reasons) == 1
    assert reason in reasons[0]


def test_a_named_volume_that_is_a_host_folder_is_named_with_what_it_is():
    spec = ContainerSpec(
        image=IMAGE,
        volume=(VolumeBind("hostdir", "/data"),),
        mount=(MountSpec("volume", "/more", "hostdir"),),
    )

    reasons = rules.privileged_options(spec, host_volumes={"hostdir": "a local volume, o=bind"})

    assert reasons == [
        "--volume hostdir:/data: the volume hostdir is a local volume, o=bind.",
        "--mount type=volume,source=hostdir,target=/more: the volume hostdir is a local "
        "volume, o=bind.",
    ]


def test_options_that_only_take_away_or_stay_inside_the_container_need_no_superuser():
    spec = ContainerSpec(
        image=IMAGE,
        cap_drop=("ALL",),
        security_opt=("no-new-privileges", "no-new-privileges:true"),
        volume=(VolumeBind("data", "/data"), VolumeBind("", "/cache")),
        mount=(MountSpec("tmpfs", "/t"), MountSpec("volume", "/v", "other")),
        network="backend",
        ipc="shareable",
        publish=(PortBinding(80),),
        user="0:0",
    )

    assert rules.privileged_options(spec, host_volumes={"unused": "a host folder"}) == []


@pytest.mark.parametrize("host", [{"Privileged": True}, {"PidMode": "host"}, {"IpcMode": "host"}])
def test_the_label_the_engine_adds_to_a_container_sharing_the_host_is_not_copied(host):
    container = inspect(host={**host, "SecurityOpt": ["no-new-privileges", "label=disable"]})

    assert spec_from_inspect(container, image=IMAGE_INSPECT).security_opt == ("no-new-privileges",)


def test_a_label_option_asked_for_by_a_container_of_its_own_is_kept():
    container = inspect(host={"SecurityOpt": ["label=disable"]})

    assert spec_from_inspect(container, image=IMAGE_INSPECT).security_opt == ("label=disable",)
