"""What a container may reach and what a team may point at, pure: no database or engine
calls here. The caller gathers the facts (the spec, which containers use a name, which teams
made an image, which volumes are host folders) and asks; run, recreate and builds alike.

Image names: a container is made again (recreate, a compose redeploy) from the name it was
created from, so a name that another team's container uses is that team's: pointing it at
another image would run that image with their environment.
"""

import posixpath
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from containers_app import access

if TYPE_CHECKING:
    from containers_app.engine.specs import ContainerSpec

DEFAULT_REGISTRY_PREFIXES = ("docker.io/library/", "index.docker.io/library/", "docker.io/")


def image_name(reference: str) -> str:
    """`reference` as the engine files it, so two spellings of one name compare equal:
    without Docker Hub's default prefixes, with `:latest` when it names no tag."""
    name = reference.strip()
    for prefix in DEFAULT_REGISTRY_PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    if "@" in name:
        return name
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else f"{name}:latest"


def name_takeover(
    actor: access.Actor,
    name: str,
    *,
    points_to: str | None,
    new_image: str | None,
    users: Iterable[access.Target],
) -> str | None:
    """Why `actor` may not point `name` at `new_image` (None: an image not made yet, a
    build's or a commit's), or None if they may. `points_to`: the image the name names now
    (None: a free name); `users`: the containers created from that name. Only a superuser
    moves a name that a container of another team, or of no team, was created from."""
    if actor.superuser or points_to is None or (new_image is not None and new_image == points_to):
        return None
    own = set(access.teams_for(actor, access.ADMINISTER))
    others = {access.owner(actor, user) or "" for user in users} - own
    if not others:
        return None
    whose = "another team" if others - {""} else "no team"
    return (
        f"{name} is the image name of a container of {whose}: only a superuser may point it "
        "at another image, which that container would be made again from."
    )


def build_refusals(
    actor: access.Actor,
    *,
    labels: Iterable[str],
    remote_sources: Iterable[str],
    bases_missing: Iterable[str],
    bases_with_triggers: Iterable[str],
) -> list[str]:
    """Why `actor` may not build a Dockerfile that sets `labels`, ADDs `remote_sources`, and
    whose FROM images are `bases_missing` (not on the engine) or `bases_with_triggers`
    (ONBUILD). The engine fetches ADD's URLs and a missing base itself, from the host's own
    network, where no build network applies; only a superuser builds such a Dockerfile."""
    if actor.superuser:
        return []
    reasons = [
        f"LABEL {key} is set by Berth or Docker Compose only: it would claim the containers "
        "made from the image."
        for key in access.reserved_labels(labels)
    ]
    reasons += [
        f"ADD {source} is fetched by the engine from the host's own network: download it "
        "into the build context instead."
        for source in remote_sources
    ]
    reasons += [
        f"FROM {image}: the engine does not have it; pull it first (Images, Pull), so that "
        "what it runs at build time can be checked."
        for image in bases_missing
    ]
    reasons += [
        f"FROM {image}: it has ONBUILD triggers, which would run in this build unchecked."
        for image in bases_with_triggers
    ]
    return reasons


def recreate_refusal(actor: access.Actor, name: str, not_in_spec: Iterable[str]) -> str | None:
    """Why `actor` may not recreate container `name`, made with `not_in_spec`: settings the
    run form cannot set (engine.specs.settings_not_copied), which a recreate copies as they
    are, unchecked by the rules a run is held to. Only a superuser recreates such a container;
    the extra networks it is connected to (`--network`) and --publish-all are checked as a
    run's networks and ports are."""
    if actor.superuser:
        return None
    # --publish-all is held to the team's host ports by its policy, as a run's ports are.
    checked = ("--network ", "--publish-all")
    unchecked = [flag for flag in not_in_spec if not flag.startswith(checked)]
    if not unchecked:
        return None
    return (
        f"Only a superuser may recreate {name}: it was made with {', '.join(unchecked)}, which "
        "the run form cannot set."
    )


# --- What a container may reach of the host -------------------------------------------------

# Where an engine's socket lives; whoever reaches it commands the engine, which runs as root.
DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")
# Reduces what a container may do: no --security-opt needs less than this.
HARMLESS_SECURITY_OPTS = ("no-new-privileges", "no-new-privileges:true", "no-new-privileges=true")


def _reaches_docker_socket(host_path: str) -> bool:
    path = posixpath.normpath(host_path)
    inside = path.rstrip("/") + "/"
    return path.endswith("docker.sock") or any(
        socket == path or socket.startswith(inside) for socket in DOCKER_SOCKETS
    )


def privileged_options(
    spec: "ContainerSpec", *, host_volumes: Mapping[str, str] | None = None
) -> list[str]:
    """Why each option of `spec` that gives the container some of the host's root does so,
    one sentence each naming the option; empty if it has none. Only RUN_PRIVILEGED may run
    them. `host_volumes`: named volumes that are a host folder or device, with what they are."""
    reasons = []
    if spec.privileged:
        reasons.append(
            "--privileged gives the container every capability of the host's root and all "
            "of the host's devices."
        )
    reasons += [
        f"--cap-add {cap} gives the container that capability of the host's root."
        for cap in spec.cap_add
    ]
    reasons += [
        f"--device {d.host_path} gives the container the host's device {d.host_path}."
        for d in spec.device
    ]
    if spec.network == "host":
        reasons.append(
            "--network host puts the container in the host's own network stack: it can "
            "listen on any host address and reach services that listen only on the host."
        )
    elif spec.network.startswith("container:"):
        reasons.append(
            f"--network {spec.network} joins another container's network stack, which may "
            "be the host's own."
        )
    if spec.pid == "host":
        reasons.append("--pid host lets the container see and signal every process of the host.")
    elif spec.pid.startswith("container:"):
        reasons.append(
            f"--pid {spec.pid} joins another container's processes, which may be the host's."
        )
    if spec.ipc == "host":
        reasons.append("--ipc host shares the host's shared memory and semaphores.")
    elif spec.ipc.startswith("container:"):
        reasons.append(
            f"--ipc {spec.ipc} joins another container's shared memory, which may be the host's."
        )
    if spec.userns == "host":
        reasons.append(
            "--userns host turns off user-namespace remapping: root in the container is "
            "root on the host."
        )
    reasons += [
        f"--security-opt {option} changes the confinement (seccomp, AppArmor, SELinux) that "
        "keeps the container from the host."
        for option in spec.security_opt
        if option not in HARMLESS_SECURITY_OPTS
    ]
    binds = [(f"--volume {v.source}:{v.target}", v.source) for v in spec.volume if v.host_path]
    binds += [
        (f"--mount type=bind,source={m.source},target={m.target}", m.source)
        for m in spec.mount
        if m.type == "bind"
    ]
    for option, source in binds:
        if _reaches_docker_socket(source):
            reasons.append(
                f"{option} mounts the Docker socket: it lets the container command the "
                "engine, which is root on the host."
            )
        else:
            reasons.append(
                f"{option} mounts the host's folder {source}: the container can read and "
                "change the host's own files."
            )
    volumes = [(f"--volume {v.source}:{v.target}", v.source) for v in spec.volume]
    volumes += [
        (f"--mount type=volume,source={m.source},target={m.target}", m.source)
        for m in spec.mount
        if m.type == "volume"
    ]
    reasons += [
        f"{option}: the volume {name} is {(host_volumes or {})[name]}."
        for option, name in volumes
        if name in (host_volumes or {})
    ]
    return reasons


# The local driver's options a volume may have when its creator may not mount the host's files
# (access.ANY_VOLUME): a tmpfs, sized and owned. Every other type, a device or o=bind mount a
# host path or device, and other drivers are plugins that reach whatever the host reaches.
SAFE_TMPFS_OPTION = re.compile(
    r"size=\d+[kmgKMG%]?|nr_inodes=\d+[kmgKMG]?|mode=[0-7]{3,4}|uid=\d+|gid=\d+"
    r"|noexec|nosuid|nodev"
)
SAFE_VOLUME_OPTIONS = "none, or type=tmpfs, device=tmpfs and o=size=…,mode=…,uid=…,gid=…"


def host_volume_refusals(driver: str, options: dict[str, str]) -> dict[str, list[str]]:
    """Why a volume of `driver` with `options` could reach the host's own files, by form
    field; empty if it cannot."""
    if driver != "local":
        return {
            "driver": [
                f"Driver {driver}: only a superuser may use a driver other than local, as a "
                "volume plugin can mount whatever the host can reach."
            ]
        }
    problems = []
    for key, value in options.items():
        if key == "type" and value != "tmpfs":
            problems.append(
                f"Option type={value}: only a superuser may mount a type other than tmpfs, "
                "which mounts a host path or device (type=none with o=bind: any host folder)."
            )
        elif key == "device" and value != "tmpfs":
            problems.append(
                f"Option device={value}: only a superuser may set a device, which mounts that "
                "host path or device into the volume."
            )
        elif key == "o":
            for word in (w.strip() for w in value.split(",")):
                if word in ("bind", "rbind"):
                    problems.append(
                        f"Option o={value}: {word} mounts a folder of the host into the volume; "
                        "only a superuser may use it."
                    )
                elif not SAFE_TMPFS_OPTION.fullmatch(word):
                    problems.append(
                        f"Option o={value}: only a superuser may use the mount option "
                        f"'{word}'; others may use size, nr_inodes, mode, uid, gid, noexec, "
                        "nosuid and nodev."
                    )
        elif key not in ("type", "device", "o"):
            problems.append(
                f"Option {key}: only a superuser may set it; others may set {SAFE_VOLUME_OPTIONS}."
            )
    if options and options.get("type") != "tmpfs" and not problems:
        # Without a type, device and o still mount: o=bind device=/ binds the host's root.
        problems.append(f"Options need type=tmpfs; others may set {SAFE_VOLUME_OPTIONS}.")
    return {"options": problems} if problems else {}


# --- Compose applications -------------------------------------------------------------------

# The application's own .env: the one env_file that is not a file of Berth's host.
OWN_ENV_FILES = (".env", "./.env")


def _env_files(value) -> list[str]:
    entries = value if isinstance(value, list) else [value]
    return [str(e.get("path", "")) if isinstance(e, dict) else str(e) for e in entries]


def compose_host_reads(document: Mapping) -> list[str]:
    """Why a compose file (as written, before compose reads it) would make compose read
    files of Berth's own host, one sentence each naming the key; empty if it would not. Only
    a superuser deploys such a file: compose reads them when the file is checked already."""
    reasons = []
    if "include" in document:
        reasons.append("include: reads other compose files from Berth's host.")
    for name, service in (document.get("services") or {}).items():
        service = service if isinstance(service, Mapping) else {}
        extends = service.get("extends")
        if isinstance(extends, Mapping) and "file" in extends:
            reasons.append(f"Service {name}: extends with a file reads that file on Berth's host.")
        if "env_file" in service and any(
            path not in OWN_ENV_FILES for path in _env_files(service["env_file"])
        ):
            reasons.append(
                f"Service {name}: env_file may only be the application's own .env; another "
                "file would be read on Berth's host."
            )
        if "label_file" in service:
            reasons.append(f"Service {name}: label_file reads a file on Berth's host.")
        if "build" in service:
            reasons.append(
                f"Service {name}: build: images are built through the build form (Images, "
                "Build), where what a build may reach is checked."
            )
    for kind in ("secrets", "configs"):
        for name, value in (document.get(kind) or {}).items():
            if isinstance(value, Mapping) and "file" in value:
                reasons.append(
                    f"{kind.capitalize()[:-1]} {name}: file: reads that file on Berth's host; "
                    "give its content (configs) or an environment value instead."
                )
    return reasons


# A service's keys that a team admin may set: what the run form sets, or judged as a run's
# options are (privileged_options, the policy, other teams' objects). Any other key (a
# logging driver, a cgroup parent, a runtime, device rules...) is a superuser's.
_SERVICE_KEYS = (
    "image command entrypoint environment env_file ports expose volumes tmpfs networks "
    "depends_on restart deploy labels healthcheck working_dir user hostname domainname "
    "container_name stop_signal stop_grace_period init tty stdin_open read_only shm_size "
    "mem_limit mem_reservation memswap_limit cpus cpu_shares cap_drop cap_add privileged "
    "security_opt devices network_mode pid ipc userns_mode extra_hosts dns dns_search "
    "dns_opt ulimits sysctls scale pull_policy platform profiles secrets configs links "
    "attach pids_limit group_add mac_address"
)
COMPOSE_SERVICE_KEYS = frozenset(_SERVICE_KEYS.split())


def compose_service_refusals(name: str, service: Mapping) -> list[str]:
    """Why a team admin may not deploy `service` (compose's normalized form) for what the
    run form's rules do not judge: keys beyond COMPOSE_SERVICE_KEYS, another container's
    volumes, Berth's and compose's own labels. privileged_options judges the rest."""
    reasons = [
        f"Service {name}: only a superuser may set {key}."
        for key, value in service.items()
        if key not in COMPOSE_SERVICE_KEYS
        and not key.startswith("x-")
        and value not in (None, "")
        and value != {}
        and value != []
    ]
    reservations = ((service.get("deploy") or {}).get("resources") or {}).get("reservations")
    if (reservations or {}).get("devices"):
        reasons.append(
            f"Service {name}: deploy.resources.reservations.devices gives the containers the "
            "host's devices (GPUs): only a superuser may set it."
        )
    labels = {
        **(service.get("labels") or {}),
        **((service.get("deploy") or {}).get("labels") or {}),
    }
    reasons += [
        f"Service {name}: the label {key} is set by Berth or Docker Compose only: it would "
        "claim the containers for a team or project."
        for key in access.reserved_labels(labels)
    ]
    return reasons


def compose_network_refusals(joined: Iterable[str]) -> list[str]:
    """Why services may not join the networks `joined` (the engine's names of them): the
    engine's `host` network, named as an external network, is `--network host`."""
    return [
        "An external network named host puts the containers in the host's own network "
        "stack (as --network host): only a superuser may use it."
        for name in joined
        if name == "host"
    ]


def compose_object_refusals(kind: str, name: str, value: Mapping) -> list[str]:
    """Why a team admin may not have the application make network or volume `name` as
    `value` (normalized) says: a volume of the host's files, a network driver other than
    bridge (macvlan and the like reach the host's own network)."""
    if value.get("external"):
        return []  # judged as an existing object of the engine, by its owner
    reserved = [
        f"{kind.capitalize()[:-1]} {name}: the label {key} is set by Berth or Docker Compose "
        "only: it would claim it for a team or project."
        for key in access.reserved_labels(value.get("labels") or {})
    ]
    if reserved:
        return reserved
    if kind == "volumes":
        driver = value.get("driver") or "local"
        refused = host_volume_refusals(driver, dict(value.get("driver_opts") or {}))
        return [f"Volume {name}: {r}" for found in refused.values() for r in found]
    driver = value.get("driver") or "bridge"
    if driver != "bridge" or value.get("driver_opts"):
        return [
            f"Network {name}: only a superuser may make a network with the driver {driver} "
            "or with driver options."
        ]
    return []
