"""Containers: `docker ps`, `docker inspect` and the lifecycle actions."""

import socket
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

import docker.types

from containers_app.engine.client import Engine, api
from containers_app.engine.convert import from_rfc3339, from_unix, labels_of, pretty_json, short_id
from containers_app.engine.errors import Conflict, EngineError, NotFound, translated
from containers_app.engine.raw import RawStream, open_stream, request_json
from containers_app.engine.specs import (
    NON_NETWORK_MODES,
    ContainerSpec,
    settings_not_copied,
    spec_from_inspect,
)

STATES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")
ACTIONS = ("start", "stop", "restart", "pause", "unpause", "kill", "remove", "force_remove")
# Bulk actions run side by side, as `docker stop a b c` does, but never flood the engine.
BULK_WORKERS = 8


@dataclass(frozen=True)
class ContainerSummary:
    """One row of `docker ps`, from a single list call."""

    id: str
    name: str
    names: tuple[str, ...]
    image: str
    image_id: str
    command: str
    created: datetime | None
    state: str
    status: str
    ports: tuple[str, ...]
    labels: dict[str, str] = field(hash=False)
    networks: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()

    @property
    def short_id(self) -> str:
        return short_id(self.id)


@dataclass(frozen=True)
class Mount:
    type: str
    name: str
    source: str
    destination: str
    mode: str
    read_write: bool


@dataclass(frozen=True)
class NetworkAttachment:
    name: str
    network_id: str
    ip_address: str
    gateway: str
    mac_address: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class ContainerDetail:
    """What `docker inspect` says of one container, shaped for its page."""

    id: str
    name: str
    image: str
    image_id: str
    created: datetime | None
    state: str
    running: bool
    paused: bool
    exit_code: int
    error: str
    health: str
    started_at: datetime | None
    finished_at: datetime | None
    entrypoint: tuple[str, ...]
    command: tuple[str, ...]
    working_dir: str
    user: str
    tty: bool
    env: tuple[tuple[str, str], ...]
    labels: dict[str, str] = field(hash=False)
    mounts: tuple[Mount, ...] = ()
    networks: tuple[NetworkAttachment, ...] = ()
    ports: tuple[str, ...] = ()
    restart_policy: str = "no"
    raw_json: str = ""

    @property
    def short_id(self) -> str:
        return short_id(self.id)


def _primary_name(names: Sequence[str]) -> str:
    """The container's own name: legacy links add names like /other/alias."""
    stripped = [n.lstrip("/") for n in names]
    own = [n for n in stripped if "/" not in n]
    return (own or stripped or [""])[0]


def format_port(ip: str | None, public: int | str | None, private: int | str, proto: str) -> str:
    """A port the way `docker ps` prints it: 127.0.0.1:8080->80/tcp, or 80/tcp unpublished."""
    if not public:
        return f"{private}/{proto}"
    host = f"[{ip}]" if ip and ":" in ip else (ip or "0.0.0.0")
    return f"{host}:{public}->{private}/{proto}"


def _list_ports(ports: list[dict] | None) -> tuple[str, ...]:
    seen = dict.fromkeys(
        format_port(p.get("IP"), p.get("PublicPort"), p.get("PrivatePort"), p.get("Type", "tcp"))
        for p in sorted(
            ports or [],
            key=lambda p: (p.get("PrivatePort", 0), p.get("Type", ""), p.get("IP", "")),
        )
    )
    return tuple(seen)


def _summary(row: dict) -> ContainerSummary:
    names = row.get("Names") or []
    networks = (row.get("NetworkSettings") or {}).get("Networks") or {}
    return ContainerSummary(
        id=row["Id"],
        name=_primary_name(names),
        names=tuple(n.lstrip("/") for n in names),
        image=row.get("Image", ""),
        image_id=row.get("ImageID", ""),
        command=row.get("Command", ""),
        created=from_unix(row.get("Created")),
        state=row.get("State", ""),
        status=row.get("Status", ""),
        ports=_list_ports(row.get("Ports")),
        labels=labels_of(row.get("Labels")),
        networks=tuple(sorted(networks)),
        volumes=tuple(m["Name"] for m in row.get("Mounts") or [] if m.get("Type") == "volume"),
    )


def container_list(
    *,
    engine: Engine,
    all: bool = False,
    name: str = "",
    state: str = "",
    label: str = "",
    ids: Sequence[str] = (),
    ancestor: str = "",
) -> list[ContainerSummary]:
    """`docker ps [-a] [--filter …]` in one Engine API call, newest first."""
    filters: dict[str, list[str]] = {}
    if ancestor:
        filters["ancestor"] = [ancestor]
    if name:
        filters["name"] = [name]
    if state:
        filters["status"] = [state]
    if label:
        filters["label"] = [label]
    if ids:
        filters["id"] = list(ids)
    with translated(engine.base_url):
        rows = api(engine).containers(
            all=all or bool(state) or bool(ids) or bool(ancestor), filters=filters
        )
    return [_summary(row) for row in rows]


def container_summary(*, engine: Engine, container_id: str) -> ContainerSummary:
    """One container's `docker ps -a` row, for redrawing it after an action."""
    rows = container_list(engine=engine, ids=[container_id])
    exact = [r for r in rows if r.id == container_id]
    if not exact:
        # A name or a short id, as URLs may carry: the id filter matches neither exactly
        # (it matches a pattern anywhere in ids), so the engine says which one it means.
        with translated(engine.base_url):
            full_id = api(engine).inspect_container(container_id)["Id"]
        exact = [r for r in container_list(engine=engine, ids=[full_id]) if r.id == full_id]
    if not exact:
        raise NotFound(f"No such container: {container_id}", engine=engine.base_url)
    return exact[0]


def _split_env(env: Sequence[str] | None) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, _, v in (item.partition("=") for item in env or []))


def _inspect_ports(ports: dict | None) -> tuple[str, ...]:
    out = []
    for key, bindings in sorted((ports or {}).items()):
        private, _, proto = key.partition("/")
        if not bindings:
            out.append(format_port(None, None, private, proto))
        for b in bindings or []:
            out.append(format_port(b.get("HostIp"), b.get("HostPort"), private, proto))
    return tuple(dict.fromkeys(out))


def _restart_policy(policy: dict | None) -> str:
    name = (policy or {}).get("Name") or "no"
    retries = (policy or {}).get("MaximumRetryCount") or 0
    return f"{name}:{retries}" if name == "on-failure" and retries else name


@dataclass(frozen=True)
class ContainerRef:
    """What a log or terminal websocket needs of the container it names."""

    id: str
    name: str
    tty: bool
    # Who may see it (access.py): its berth.team and compose project labels.
    labels: dict[str, str] = field(default_factory=dict, hash=False)


def container_ref(*, engine: Engine, container_id: str) -> ContainerRef:
    """The container an id, short id or name refers to: the one inspect call, on a plain
    socket. Every viewer that opens a log or a terminal asks it, and the SDK's inspect and
    the full ContainerDetail cost several times the processor time."""
    data = request_json(engine, "GET", f"/containers/{quote(container_id, safe='')}/json")
    return ContainerRef(
        id=data["Id"],
        name=data.get("Name", "").lstrip("/"),
        tty=bool((data.get("Config") or {}).get("Tty")),
        labels=labels_of((data.get("Config") or {}).get("Labels")),
    )


def container_inspect(*, engine: Engine, container_id: str) -> ContainerDetail:
    """`docker inspect <container>`."""
    with translated(engine.base_url):
        data = api(engine).inspect_container(container_id)
    state = data.get("State") or {}
    config = data.get("Config") or {}
    host = data.get("HostConfig") or {}
    networks = ((data.get("NetworkSettings") or {}).get("Networks")) or {}
    return ContainerDetail(
        id=data["Id"],
        name=data.get("Name", "").lstrip("/"),
        image=config.get("Image", ""),
        image_id=data.get("Image", ""),
        created=from_rfc3339(data.get("Created")),
        state=state.get("Status", ""),
        running=bool(state.get("Running")),
        paused=bool(state.get("Paused")),
        exit_code=int(state.get("ExitCode") or 0),
        error=state.get("Error") or "",
        health=((state.get("Health") or {}).get("Status")) or "",
        started_at=from_rfc3339(state.get("StartedAt")),
        finished_at=from_rfc3339(state.get("FinishedAt")),
        entrypoint=tuple(config.get("Entrypoint") or ()),
        command=tuple(config.get("Cmd") or ()),
        working_dir=config.get("WorkingDir") or "",
        user=config.get("User") or "",
        tty=bool(config.get("Tty")),
        env=_split_env(config.get("Env")),
        labels=labels_of(config.get("Labels")),
        mounts=tuple(
            Mount(
                type=m.get("Type", ""),
                name=m.get("Name", ""),
                source=m.get("Source", ""),
                destination=m.get("Destination", ""),
                mode=m.get("Mode", ""),
                read_write=bool(m.get("RW")),
            )
            for m in data.get("Mounts") or []
        ),
        networks=tuple(
            NetworkAttachment(
                name=name,
                network_id=n.get("NetworkID", ""),
                ip_address=n.get("IPAddress", ""),
                gateway=n.get("Gateway", ""),
                mac_address=n.get("MacAddress", ""),
                aliases=tuple(n.get("Aliases") or ()),
            )
            for name, n in sorted(networks.items())
        ),
        ports=_inspect_ports((data.get("NetworkSettings") or {}).get("Ports")),
        restart_policy=_restart_policy(host.get("RestartPolicy")),
        raw_json=pretty_json(data),
    )


def container_act(*, engine: Engine, container_id: str, action: str) -> None:
    """Runs one of ACTIONS on a container."""
    client = api(engine)
    calls = {
        "start": lambda: client.start(container_id),
        "stop": lambda: client.stop(container_id),
        "restart": lambda: client.restart(container_id),
        "pause": lambda: client.pause(container_id),
        "unpause": lambda: client.unpause(container_id),
        "kill": lambda: client.kill(container_id),
        "remove": lambda: client.remove_container(container_id),
        "force_remove": lambda: client.remove_container(container_id, force=True),
    }
    if action not in calls:
        raise ValueError(f"unknown container action {action!r}")
    with translated(engine.base_url):
        calls[action]()


def container_act_many(
    *, engine: Engine, container_ids: Sequence[str], action: str
) -> dict[str, EngineError | None]:
    """The same action on several containers at once; each id maps to its error, or None."""

    def one(container_id: str) -> EngineError | None:
        try:
            container_act(engine=engine, container_id=container_id, action=action)
        except EngineError as error:
            return error
        return None

    with ThreadPoolExecutor(max_workers=BULK_WORKERS) as pool:
        return dict(zip(container_ids, pool.map(one, container_ids), strict=True))


@dataclass(frozen=True)
class ContainerState:
    """What a wall screen's tile shows of a container: its state as `docker inspect` has
    it (the list has neither the restart count nor whether it was OOM-killed)."""

    id: str
    name: str
    state: str
    exit_code: int
    health: str
    oom_killed: bool
    restart_count: int
    started_at: datetime | None
    finished_at: datetime | None
    labels: dict[str, str] = field(hash=False)


def _container_state(engine: Engine, container_id: str) -> ContainerState | None:
    try:
        data = request_json(engine, "GET", f"/containers/{quote(container_id, safe='')}/json")
    except NotFound:
        return None
    state = data.get("State") or {}
    return ContainerState(
        id=data["Id"],
        name=data.get("Name", "").lstrip("/"),
        state=state.get("Status", ""),
        exit_code=int(state.get("ExitCode") or 0),
        health=((state.get("Health") or {}).get("Status")) or "",
        oom_killed=bool(state.get("OOMKilled")),
        restart_count=int(data.get("RestartCount") or 0),
        started_at=from_rfc3339(state.get("StartedAt")),
        finished_at=from_rfc3339(state.get("FinishedAt")),
        labels=labels_of((data.get("Config") or {}).get("Labels")),
    )


def container_states(*, engine: Engine, container_ids: Sequence[str]) -> list[ContainerState]:
    """The state of each of `container_ids` (one inspect each, side by side), in their
    order; those that no longer exist are left out."""
    if not container_ids:
        return []
    with ThreadPoolExecutor(max_workers=min(BULK_WORKERS, len(container_ids))) as pool:
        found = pool.map(lambda c: _container_state(engine, c), container_ids)
        return [state for state in found if state is not None]


# --- docker run ----------------------------------------------------------------------------


def _host_config_args(spec: ContainerSpec) -> dict:
    """create_host_config's keyword arguments for a spec (docker/types/containers.py)."""
    port_bindings: dict[str, list[dict]] = {}
    for port in spec.publish:
        port_bindings.setdefault(port.key, []).append(
            {"HostIp": port.host_ip, "HostPort": str(port.host_port or "")}
        )
    return {
        "binds": [
            f"{v.source}:{v.target}" + (f":{v.mode}" if v.mode else "")
            for v in spec.volume
            if not v.anonymous
        ]
        or None,
        "port_bindings": port_bindings or None,
        "mounts": [
            docker.types.Mount(
                target=m.target,
                source=m.source or None,
                type=m.type,
                read_only=m.read_only,
                tmpfs_size=m.tmpfs_size or None,
                tmpfs_mode=m.tmpfs_mode or None,
            )
            for m in spec.mount
        ]
        or None,
        "network_mode": spec.network or None,
        "restart_policy": {"Name": spec.restart, "MaximumRetryCount": spec.restart_max_retries}
        if spec.restart != "no"
        else None,
        "auto_remove": spec.rm,
        "mem_limit": spec.memory or None,
        "nano_cpus": spec.nano_cpus or None,
        "privileged": spec.privileged,
        "cap_add": list(spec.cap_add) or None,
        "cap_drop": list(spec.cap_drop) or None,
        "devices": [
            {
                "PathOnHost": d.host_path,
                "PathInContainer": d.container_path,
                "CgroupPermissions": d.permissions,
            }
            for d in spec.device
        ]
        or None,
        "pid_mode": spec.pid or None,
        "ipc_mode": spec.ipc or None,
        "userns_mode": spec.userns or None,
        "security_opt": list(spec.security_opt) or None,
    }


def _entrypoint_words(spec: ContainerSpec) -> list[str] | None:
    if spec.entrypoint is None:
        return None
    # An empty list would mean "the image's"; [""] is how `--entrypoint ""` resets it.
    return list(spec.entrypoint) or [""]


@contextmanager
def _name_taken(name: str, engine: Engine) -> Iterator[None]:
    """The engine's name conflict says which container holds the name, by its full id: it
    may be another team's, so the message says only that the name is taken."""
    try:
        yield
    except Conflict as error:
        if "already in use" not in error.reason:
            raise
        raise Conflict(
            f"The container name {name} is already taken: choose another.", engine=engine.base_url
        ) from None


def container_run(*, engine: Engine, spec: ContainerSpec) -> str:
    """`docker run`: creates the container, starts it, and returns its id. If it cannot
    start, it is removed again (with its anonymous volumes, as `docker rm -v`) and the error
    says so; if even that fails, the error says it was created but not started."""
    client = api(engine)
    with _name_taken(spec.name, engine), translated(engine.base_url):
        networking = None
        if spec.network not in NON_NETWORK_MODES and not spec.network.startswith("container:"):
            networking = client.create_networking_config(
                {spec.network: client.create_endpoint_config()}
            )
        created = client.create_container(
            spec.image,
            command=list(spec.command) or None,
            name=spec.name or None,
            entrypoint=_entrypoint_words(spec),
            environment=list(spec.env) or None,
            labels=dict(spec.label) or None,
            working_dir=spec.workdir or None,
            user=spec.user or None,
            hostname=spec.hostname or None,
            tty=spec.tty,
            stdin_open=spec.interactive,
            detach=spec.detach,
            # The engine wants published ports exposed too, as the CLI does for `-p`.
            ports=[(p.container_port, p.protocol) for p in spec.publish] or None,
            volumes=[v.target for v in spec.volume if v.anonymous] or None,
            host_config=client.create_host_config(**_host_config_args(spec)),
            networking_config=networking,
        )
    container_id = created["Id"]
    try:
        with translated(engine.base_url):
            client.start(container_id)
    except EngineError as error:
        try:
            with translated(engine.base_url):
                client.remove_container(container_id, force=True, v=True)
        except EngineError as cleanup:
            raise type(error)(
                f"{error.reason} (container {short_id(container_id)} was created but not "
                f"started, and could not be removed: {cleanup.reason})",
                engine=error.engine,
            ) from error
        raise type(error)(
            f"{error.reason} (the container could not start, so it was removed)",
            engine=error.engine,
        ) from error
    return container_id


@dataclass(frozen=True)
class SimilarSpec:
    """What running a container again takes: its spec, and the settings the spec cannot hold."""

    name: str
    spec: ContainerSpec
    not_copied: tuple[str, ...]


def container_spec(*, engine: Engine, container_id: str) -> SimilarSpec:
    """The spec that runs this container again, from `docker inspect` of it and its image.
    An image removed since leaves its settings spelled out in the spec instead."""
    with translated(engine.base_url):
        data = api(engine).inspect_container(container_id)
    try:
        with translated(engine.base_url):
            image = api(engine).inspect_image(data["Image"])
    except NotFound:
        image = None
    return SimilarSpec(
        name=data.get("Name", "").lstrip("/"),
        spec=spec_from_inspect(data, image=image),
        not_copied=settings_not_copied(data, image=image),
    )


# --- docker commit -------------------------------------------------------------------------

# A commit copies the container's changed files into a layer and the engine answers only
# once it is written: gigabytes take far longer than an ordinary call's time limit.
COMMIT_TIMEOUT = 3600


def container_commit(
    *,
    engine: Engine,
    container_id: str,
    repository: str,
    tag: str,
    message: str,
    author: str,
    pause: bool,
    changes: Sequence[str],
    on_connect: Callable[[socket.socket], None] | None = None,
) -> str:
    """`docker commit`: the container's filesystem, with `changes` (Dockerfile instructions,
    one each) applied to its configuration, as the new image repository:tag; its id. `pause`
    freezes the container meanwhile, as the CLI does unless told --pause=false. On a plain
    socket, which `on_connect` gets (a job's cancel shuts it while the engine works)."""
    params = {
        "container": container_id,
        "repo": repository,
        "tag": tag or None,
        "comment": message or None,
        "author": author or None,
        "pause": "1" if pause else "0",
        "changes": list(changes) or None,
    }
    answer = request_json(
        engine, "POST", "/commit", params=params, timeout=COMMIT_TIMEOUT, on_connect=on_connect
    )
    return answer["Id"]


def container_logs_stream(
    *, engine: Engine, container_id: str, params: dict[str, object]
) -> RawStream:
    """`docker logs`' answer as it comes (`params`: follow, stdout, stderr, timestamps, tail,
    since, until), for streams/logs.py to read and split."""
    return open_stream(engine, f"/containers/{quote(container_id, safe='')}/logs", params)


def container_stats_stream(*, engine: Engine, container_id: str) -> RawStream:
    """`docker stats <container>`' samples as they come, one JSON object a line."""
    path = f"/containers/{quote(container_id, safe='')}/stats"
    return open_stream(engine, path, {"stream": 1})
