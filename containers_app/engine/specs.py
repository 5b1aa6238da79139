"""What `docker run` is asked to make: ContainerSpec, shared by the run form, `cli.py` and the
engine call, and read back from a container's inspect data to run it again."""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

RESTART_POLICIES = ("no", "always", "unless-stopped", "on-failure")
# The engine's default IPC mode since 20.10 (before it, shareable); kept out of a copied spec
# so that a run-similar line does not carry a flag nobody typed.
DEFAULT_IPC_MODES = ("", "private")
# Network modes that are not the name of a network one can join with an endpoint.
NON_NETWORK_MODES = ("", "default", "host", "none")
# What the engine gives a container that was not asked for one: 64 MiB of /dev/shm.
DEFAULT_SHM_SIZE = 64 * 1024 * 1024
SIZE_UNITS = (("g", 1024**3), ("m", 1024**2), ("k", 1024))


@dataclass(frozen=True)
class PortBinding:
    """`-p [ip:][host_port:]container_port[/protocol]`. host_ip "" means every interface (as
    the engine says it); host_port None lets the engine pick a free port."""

    container_port: int
    protocol: str = "tcp"
    host_ip: str = "127.0.0.1"
    host_port: int | None = None

    @property
    def key(self) -> str:
        return f"{self.container_port}/{self.protocol}"


@dataclass(frozen=True)
class VolumeBind:
    """`-v source:target[:mode]`: a named volume, a host path (source starting with /), or,
    without a source, an anonymous volume the engine makes for the container."""

    source: str
    target: str
    mode: str = ""

    @property
    def read_only(self) -> bool:
        return "ro" in self.mode.split(",")

    @property
    def host_path(self) -> bool:
        return self.source.startswith("/")

    @property
    def anonymous(self) -> bool:
        return not self.source


@dataclass(frozen=True)
class MountSpec:
    """`--mount type=…,source=…,target=…[,readonly][,tmpfs-size=…][,tmpfs-mode=…]`."""

    type: str
    target: str
    source: str = ""
    read_only: bool = False
    tmpfs_size: int = 0
    tmpfs_mode: int = 0


@dataclass(frozen=True)
class DeviceMapping:
    """`--device host_path[:container_path[:permissions]]`."""

    host_path: str
    container_path: str
    permissions: str = "rwm"


@dataclass(frozen=True)
class ContainerSpec:
    """Everything `docker run` is asked, typed. Empty values mean "as the image or the engine
    says": `command` () runs the image's command, `entrypoint` None keeps the image's and ()
    resets it (`--entrypoint ""`), `network` "" is the engine's default bridge."""

    image: str
    name: str = ""
    command: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    env: tuple[str, ...] = ()
    publish: tuple[PortBinding, ...] = ()
    volume: tuple[VolumeBind, ...] = ()
    mount: tuple[MountSpec, ...] = ()
    network: str = ""
    restart: str = "no"
    restart_max_retries: int = 0
    label: tuple[tuple[str, str], ...] = ()
    workdir: str = ""
    user: str = ""
    hostname: str = ""
    tty: bool = False
    interactive: bool = False
    rm: bool = False
    memory: int = 0
    nano_cpus: int = 0
    detach: bool = True
    privileged: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    device: tuple[DeviceMapping, ...] = ()
    pid: str = ""
    ipc: str = ""
    userns: str = ""
    security_opt: tuple[str, ...] = ()

    @property
    def restart_flag(self) -> str:
        """The value of --restart: no, always, unless-stopped, on-failure[:N]."""
        if self.restart == "on-failure" and self.restart_max_retries:
            return f"on-failure:{self.restart_max_retries}"
        return self.restart


def format_size(size: int) -> str:
    """Bytes as --memory and tmpfs-size take them: the largest unit that is exact (512m)."""
    for unit, factor in SIZE_UNITS:
        if size and size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


def format_cpus(nano_cpus: int) -> str:
    """NanoCpus as --cpus takes them: 1500000000 is 1.5."""
    text = format(Decimal(nano_cpus) / Decimal(1_000_000_000), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# --- reading a container back ---------------------------------------------------------------


def _entrypoint(config: Mapping, image_config: Mapping) -> tuple[str, ...] | None:
    mine, theirs = config.get("Entrypoint") or [], image_config.get("Entrypoint") or []
    if mine == theirs:
        return None
    # The engine stores `--entrypoint ""` as no entrypoint at all.
    return tuple(mine)


def _command(config: Mapping, image_config: Mapping, entrypoint: tuple | None) -> tuple[str, ...]:
    mine = config.get("Cmd") or []
    # The engine gives a container the image's Cmd only when its entrypoint is the image's
    # too: with another entrypoint, even a Cmd equal to the image's was asked for.
    if entrypoint is None and mine == (image_config.get("Cmd") or []):
        return ()
    return tuple(mine)


def _publish(host: Mapping) -> tuple[PortBinding, ...]:
    bindings = []
    for key, entries in (host.get("PortBindings") or {}).items():
        port, _, protocol = key.partition("/")
        for entry in entries or [{}]:
            host_port = (entry or {}).get("HostPort") or ""
            bindings.append(
                PortBinding(
                    container_port=int(port),
                    protocol=protocol or "tcp",
                    host_ip=(entry or {}).get("HostIp") or "",
                    host_port=int(host_port) if host_port else None,
                )
            )
    return tuple(sorted(bindings, key=lambda b: (b.container_port, b.protocol, b.host_ip)))


def _bind(text: str) -> VolumeBind:
    source, _, rest = text.partition(":")
    target, _, mode = rest.partition(":")
    return VolumeBind(source=source, target=target, mode=mode)


def _mounts(host: Mapping) -> tuple[MountSpec, ...]:
    return tuple(
        MountSpec(
            type=m.get("Type") or "volume",
            target=m.get("Target") or "",
            source=m.get("Source") or "",
            read_only=bool(m.get("ReadOnly")),
            tmpfs_size=int((m.get("TmpfsOptions") or {}).get("SizeBytes") or 0),
            tmpfs_mode=int((m.get("TmpfsOptions") or {}).get("Mode") or 0),
        )
        for m in host.get("Mounts") or []
    )


def _volumes(config: Mapping, host: Mapping, image_config: Mapping) -> tuple[VolumeBind, ...]:
    binds = [_bind(b) for b in host.get("Binds") or []]
    taken = {b.target for b in binds} | {m.get("Target") for m in host.get("Mounts") or []}
    taken |= set(image_config.get("Volumes") or {})  # the image makes these by itself
    anonymous = [
        VolumeBind(source="", target=path)
        for path in sorted(config.get("Volumes") or {})
        if path not in taken
    ]
    return (*binds, *anonymous)


def _security_opt(host: Mapping) -> tuple[str, ...]:
    options = tuple(host.get("SecurityOpt") or ())
    shares_the_host = host.get("Privileged") or "host" in (host.get("PidMode"), host.get("IpcMode"))
    if shares_the_host:
        # The engine adds label=disable by itself to a privileged container or one sharing
        # the host's processes or IPC (daemon/create.go, generateSecurityOpt).
        options = tuple(o for o in options if o != "label=disable")
    return options


def _unchanged(mine: Any, theirs: Any) -> bool:
    return (mine or "") == (theirs or "")


def spec_from_inspect(container: Mapping, *, image: Mapping | None = None) -> ContainerSpec:
    """The ContainerSpec that makes this container again, from `docker inspect` of it and of
    its image. What the image gives by itself (its env, labels, command, working dir, user,
    volumes) is left out, as it was when the container was run; without `image`, all of it
    is spelled out. `name` is the container's own: a second one needs another.
    What a spec cannot hold is listed by settings_not_copied."""
    config = container.get("Config") or {}
    host = container.get("HostConfig") or {}
    image_config = (image or {}).get("Config") or {}
    image_env = set(image_config.get("Env") or [])
    image_labels = image_config.get("Labels") or {}
    network = host.get("NetworkMode") or ""
    entrypoint = _entrypoint(config, image_config)
    restart = host.get("RestartPolicy") or {}
    hostname = config.get("Hostname") or ""
    if hostname == (container.get("Id") or "")[:12] or network == "host":
        # The engine names a container's host after its id (or the host's, with the host's
        # network): asked for neither, so not copied.
        hostname = ""
    return ContainerSpec(
        image=config.get("Image") or container.get("Image") or "",
        name=(container.get("Name") or "").lstrip("/"),
        command=_command(config, image_config, entrypoint),
        entrypoint=entrypoint,
        env=tuple(e for e in config.get("Env") or [] if e not in image_env),
        publish=_publish(host),
        volume=_volumes(config, host, image_config),
        mount=_mounts(host),
        network="" if network == "default" else network,
        restart=restart.get("Name") or "no",
        restart_max_retries=int(restart.get("MaximumRetryCount") or 0),
        label=tuple(
            (key, value)
            for key, value in sorted((config.get("Labels") or {}).items())
            if image_labels.get(key) != value
        ),
        workdir=""
        if _unchanged(config.get("WorkingDir"), image_config.get("WorkingDir"))
        else config["WorkingDir"],
        user="" if _unchanged(config.get("User"), image_config.get("User")) else config["User"],
        hostname=hostname,
        tty=bool(config.get("Tty")),
        interactive=bool(config.get("OpenStdin")),
        rm=bool(host.get("AutoRemove")),
        memory=int(host.get("Memory") or 0),
        nano_cpus=int(host.get("NanoCpus") or 0),
        detach=not (config.get("AttachStdout") or config.get("AttachStderr")),
        privileged=bool(host.get("Privileged")),
        cap_add=tuple(host.get("CapAdd") or ()),
        cap_drop=tuple(host.get("CapDrop") or ()),
        device=tuple(
            DeviceMapping(
                host_path=d.get("PathOnHost") or "",
                container_path=d.get("PathInContainer") or "",
                permissions=d.get("CgroupPermissions") or "rwm",
            )
            for d in host.get("Devices") or []
        ),
        pid=host.get("PidMode") or "",
        ipc="" if (host.get("IpcMode") or "") in DEFAULT_IPC_MODES else host["IpcMode"],
        userns=host.get("UsernsMode") or "",
        security_opt=_security_opt(host),
    )


def settings_not_copied(
    container: Mapping, *, image: Mapping | None = None, cgroupns_default: str = "host"
) -> tuple[str, ...]:
    """The settings of this container that a ContainerSpec cannot hold, as `docker run` flags,
    so that whoever runs it again knows what will differ. `cgroupns_default`: the engine's
    own (host with cgroup v1, private with v2), which a container gets when none is asked."""
    config = container.get("Config") or {}
    host = container.get("HostConfig") or {}
    image_config = (image or {}).get("Config") or {}
    log = host.get("LogConfig") or {}
    memory = int(host.get("Memory") or 0)
    network = host.get("NetworkMode") or ""
    published = set(host.get("PortBindings") or {})
    exposed = set(config.get("ExposedPorts") or {}) - published
    exposed -= set(image_config.get("ExposedPorts") or {})
    networks = set((container.get("NetworkSettings") or {}).get("Networks") or {})
    primary = "bridge" if network in ("", "default") else network
    checks = [
        ("--add-host", host.get("ExtraHosts")),
        ("--dns", host.get("Dns")),
        ("--dns-search", host.get("DnsSearch")),
        ("--dns-option", host.get("DnsOptions")),
        (f"--log-driver {log.get('Type')}", log.get("Type") not in (None, "", "json-file")),
        ("--log-opt", log.get("Config")),
        ("--link", host.get("Links")),
        ("--volumes-from", host.get("VolumesFrom")),
        ("--tmpfs", host.get("Tmpfs")),
        ("--ulimit", host.get("Ulimits")),
        ("--sysctl", host.get("Sysctls")),
        ("--group-add", host.get("GroupAdd")),
        ("--pids-limit", (host.get("PidsLimit") or 0) > 0),
        ("--cpu-shares", host.get("CpuShares")),
        ("--cpuset-cpus", host.get("CpusetCpus")),
        ("--cpu-quota", host.get("CpuQuota")),
        ("--cpu-period", host.get("CpuPeriod")),
        ("--memory-reservation", host.get("MemoryReservation")),
        # Asked for no swap limit, the engine sets twice the memory limit.
        ("--memory-swap", (host.get("MemorySwap") or 0) not in (0, -1, 2 * memory)),
        ("--shm-size", (host.get("ShmSize") or DEFAULT_SHM_SIZE) != DEFAULT_SHM_SIZE),
        ("--read-only", host.get("ReadonlyRootfs")),
        ("--init", host.get("Init")),
        ("--publish-all", host.get("PublishAllPorts")),
        (f"--runtime {host.get('Runtime')}", host.get("Runtime") not in (None, "", "runc")),
        ("--oom-kill-disable", host.get("OomKillDisable")),
        ("--oom-score-adj", host.get("OomScoreAdj")),
        ("--uts", host.get("UTSMode")),
        ("--cgroupns host", host.get("CgroupnsMode") == "host" != cgroupns_default),
        ("--storage-opt", host.get("StorageOpt")),
        ("--isolation", host.get("Isolation") not in (None, "", "default")),
        ("--blkio-weight", host.get("BlkioWeight")),
        ("--device-read-bps", host.get("BlkioDeviceReadBps")),
        ("--device-write-bps", host.get("BlkioDeviceWriteBps")),
        ("--cgroup-parent", host.get("CgroupParent")),
        ("--device-cgroup-rule", host.get("DeviceCgroupRules")),
        ("--gpus", host.get("DeviceRequests")),
        ("--domainname", config.get("Domainname")),
        ("--mac-address", config.get("MacAddress")),
        ("--stop-signal", not _unchanged(config.get("StopSignal"), image_config.get("StopSignal"))),
        ("--stop-timeout", config.get("StopTimeout") is not None),
        (
            "--health-cmd",
            (config.get("Healthcheck") or None) != (image_config.get("Healthcheck") or None),
        ),
        ("--expose " + " ".join(sorted(exposed)), exposed),
        (
            "--network " + " ".join(sorted(networks - {primary})),
            network not in ("host", "none")
            and not network.startswith("container:")
            and networks - {primary},
        ),
        (
            "--mount bind-propagation, volume-opt or volume-driver",
            any(m.get("BindOptions") or m.get("VolumeOptions") for m in host.get("Mounts") or []),
        ),
    ]
    return tuple(flag for flag, present in checks if present)


def named_volumes(spec: ContainerSpec) -> tuple[str, ...]:
    """The named volumes a spec mounts (which the engine makes if they do not exist yet)."""
    names = [v.source for v in spec.volume if v.source and not v.host_path]
    names += [m.source for m in spec.mount if m.type == "volume" and m.source]
    return tuple(dict.fromkeys(names))
