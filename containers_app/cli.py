"""The `docker` command line equivalent to each action, quoted so it can be pasted into a shell."""

import dataclasses
import shlex
from collections.abc import Iterable, Mapping, Sequence

from django.conf import settings

from containers_app import access
from containers_app.engine.specs import (
    ContainerSpec,
    DeviceMapping,
    MountSpec,
    PortBinding,
    VolumeBind,
    format_cpus,
    format_size,
)
from containers_app.masking import MASK, is_secret

CONTAINER_ACTION_WORDS = {
    "start": ("start",),
    "stop": ("stop",),
    "restart": ("restart",),
    "pause": ("pause",),
    "unpause": ("unpause",),
    "kill": ("kill",),
    "remove": ("rm",),
    "force_remove": ("rm", "-f"),
}


def docker(*words: str) -> str:
    return shlex.join(("docker", *words))


def _options(flag: str, values: Iterable[str]) -> list[str]:
    return [word for value in values for word in (flag, value)]


def _pairs(pairs: Mapping[str, str]) -> list[str]:
    return [f"{key}={value}" if value != "" else key for key, value in pairs.items()]


def container_list(*, all: bool = False, name: str = "", state: str = "", label: str = "") -> str:
    filters = [f"name={name}"] * bool(name) + [f"status={state}"] * bool(state)
    filters += [f"label={label}"] * bool(label)
    return docker("ps", *(["-a"] if all else []), *_options("--filter", filters))


def container_action(action: str, containers: Sequence[str]) -> str:
    return docker(*CONTAINER_ACTION_WORDS[action], *containers)


def exec_terminal(
    container: str, command: Sequence[str], *, user: str = "", workdir: str = ""
) -> str:
    """`docker exec -it [-u user] [-w dir] <container> <command...>`."""
    words = ["exec", "-it"] + ["-u", user] * bool(user) + ["-w", workdir] * bool(workdir)
    return docker(*words, container, *command)


def inspect(kind: str, ref: str) -> str:
    """`docker container inspect web`, `docker image inspect …` and so on."""
    return docker(kind, "inspect", ref)


def merged_logs(*, project: str = "", containers: Sequence[str] = (), tail: int = 500) -> str:
    """`docker compose -p <project> logs --follow` of a compose project; for a selection of
    containers, which no one docker command follows together, a `docker logs --follow` each,
    run side by side in the background until all end."""
    options = ("--follow", "--tail", str(tail))
    if project:
        return docker("compose", "-p", project, "logs", *options)
    each = [docker("logs", *options, container) for container in containers]
    return each[0] if len(each) == 1 else " & ".join(each) + " & wait"


def image_list(*, dangling: bool = False) -> str:
    return docker("images", *(["--filter", "dangling=true"] if dangling else []))


def image_remove(refs: Sequence[str], *, force: bool = False) -> str:
    return docker("rmi", *(["-f"] if force else []), *refs)


def image_tag(source: str, target: str) -> str:
    return docker("tag", source, target)


def image_prune(*, all: bool = False) -> str:
    return docker("image", "prune", "--force", *(["--all"] if all else []))


def image_save(ref: str, tags: Sequence[str] = ()) -> str:
    """`docker save`, by the image's tags if it has any: by its id, the tar holds no tag."""
    return docker("save", "--output", f"{ref}.tar", *(tags or [ref]))


def image_pull(reference: str) -> str:
    return docker("pull", reference)


def image_push(reference: str) -> str:
    return docker("push", reference)


def image_build(
    *,
    tags: Sequence[str] = (),
    build_args: Mapping[str, str] | None = None,
    target: str = "",
    no_cache: bool = False,
    pull: bool = False,
    force_rm: bool = True,
    context: str = "",
    dockerfile: bool = True,
    masked: bool = True,
) -> str:
    """`docker build`: `context` names an uploaded tar, `dockerfile` says one was typed.
    A typed Dockerfile alone is `docker build - < Dockerfile` (no context); a tar alone,
    `docker build - < context.tar`; both, `docker build -f - . < Dockerfile`, run where the
    tar is unpacked. `masked`: the values of secret-looking build args hidden (masking.py):
    this line is shown and kept in the audit trail."""
    words = ["build", *_options("-t", tags)]
    words += _options(
        "--build-arg",
        [_pair(name, value, masked) for name, value in (build_args or {}).items()],
    )
    words += ["--target", target] * bool(target) + ["--no-cache"] * no_cache + ["--pull"] * pull
    words += ["--force-rm"] * force_rm
    if context and dockerfile:
        return docker(*words, "-f", "-", ".") + " < Dockerfile"
    return docker(*words, "-") + " < " + shlex.quote(context or "Dockerfile")


def image_load(file: str) -> str:
    return docker("load", "--input", file)


def image_history(ref: str) -> str:
    return docker("history", ref)


def network_create(
    *,
    name: str,
    driver: str = "bridge",
    subnet: str = "",
    gateway: str = "",
    internal: bool = False,
    attachable: bool = False,
    labels: Mapping[str, str] | None = None,
) -> str:
    words = ["network", "create", "--driver", driver]
    words += ["--subnet", subnet] * bool(subnet) + ["--gateway", gateway] * bool(gateway)
    words += ["--internal"] * internal + ["--attachable"] * attachable
    words += _options("--label", _pairs(_shown_labels(labels or {})))
    return docker(*words, name)


def network_remove(refs: Sequence[str]) -> str:
    return docker("network", "rm", *refs)


def volume_create(
    *,
    name: str = "",
    driver: str = "local",
    labels: Mapping[str, str] | None = None,
    options: Mapping[str, str] | None = None,
) -> str:
    words = ["volume", "create", "--driver", driver]
    words += _options("--label", _pairs(_shown_labels(labels or {})))
    words += _options("--opt", _pairs(options or {}))
    return docker(*words, *([name] if name else []))


def volume_remove(refs: Sequence[str], *, force: bool = False) -> str:
    return docker("volume", "rm", *(["-f"] if force else []), *refs)


def registry_login(server: str, username: str) -> str:
    """`docker login --username <user> <server>`. Never the password: the CLI would prompt
    for it, and this line is shown and kept in the audit trail."""
    return docker("login", "--username", username, server)


def registry_logout(server: str) -> str:
    return docker("logout", server)


def publish_value(port: PortBinding) -> str:
    """`-p` as docker prints it: [ip:][host_port:]container_port[/protocol]."""
    container = str(port.container_port) + ("" if port.protocol == "tcp" else f"/{port.protocol}")
    host_port = str(port.host_port or "")
    if not port.host_ip:
        return f"{host_port}:{container}" if host_port else container
    ip = f"[{port.host_ip}]" if ":" in port.host_ip else port.host_ip
    return f"{ip}:{host_port}:{container}"


def volume_value(volume: VolumeBind) -> str:
    if volume.anonymous:
        return volume.target
    return f"{volume.source}:{volume.target}" + (f":{volume.mode}" if volume.mode else "")


def mount_value(mount: MountSpec) -> str:
    parts = [f"type={mount.type}"] + [f"source={mount.source}"] * bool(mount.source)
    parts += [f"target={mount.target}"] + ["readonly"] * mount.read_only
    parts += [f"tmpfs-size={format_size(mount.tmpfs_size)}"] * bool(mount.tmpfs_size)
    parts += [f"tmpfs-mode={mount.tmpfs_mode:o}"] * bool(mount.tmpfs_mode)
    return ",".join(parts)


def device_value(device: DeviceMapping) -> str:
    if device.container_path in ("", device.host_path) and device.permissions == "rwm":
        return device.host_path
    suffix = "" if device.permissions == "rwm" else f":{device.permissions}"
    return f"{device.host_path}:{device.container_path or device.host_path}{suffix}"


def container_run(spec: ContainerSpec, *, masked: bool = False) -> str:
    """`docker run …` of a spec. `masked`: the values of secret-looking environment variables
    hidden (masking.py), for the audit trail and messages, which must not keep secrets."""
    words = ["run"] + ["-d"] * spec.detach
    if spec.interactive or spec.tty:
        words.append("-" + "i" * spec.interactive + "t" * spec.tty)
    words += ["--rm"] * spec.rm + ["--name", spec.name] * bool(spec.name)
    words += ["--hostname", spec.hostname] * bool(spec.hostname)
    words += ["--user", spec.user] * bool(spec.user)
    words += ["--workdir", spec.workdir] * bool(spec.workdir)
    if spec.entrypoint is not None:
        # --entrypoint takes one word; the rest of a longer entrypoint goes before the command,
        # which makes the same process.
        words += ["--entrypoint", spec.entrypoint[0] if spec.entrypoint else ""]
    env = [
        _pair(name, value, masked)
        for name, _, value in (entry.partition("=") for entry in spec.env)
    ]
    words += _options("-e", env)
    words += _options("-p", [publish_value(port) for port in spec.publish])
    words += _options("-v", [volume_value(v) for v in spec.volume])
    words += _options("--mount", [mount_value(m) for m in spec.mount])
    words += ["--network", spec.network] * bool(spec.network)
    words += ["--restart", spec.restart_flag] * (spec.restart != "no")
    words += _options("--label", _pairs(_shown_labels(dict(spec.label))))
    words += ["--memory", format_size(spec.memory)] * bool(spec.memory)
    words += ["--cpus", format_cpus(spec.nano_cpus)] * bool(spec.nano_cpus)
    words += ["--privileged"] * spec.privileged
    words += _options("--cap-add", spec.cap_add) + _options("--cap-drop", spec.cap_drop)
    words += _options("--device", [device_value(d) for d in spec.device])
    words += ["--pid", spec.pid] * bool(spec.pid) + ["--ipc", spec.ipc] * bool(spec.ipc)
    words += ["--userns", spec.userns] * bool(spec.userns)
    words += _options("--security-opt", spec.security_opt)
    words += [spec.image, *(spec.entrypoint or ())[1:], *spec.command]
    return docker(*words)


def container_commit(
    container: str,
    reference: str,
    *,
    pause: bool = True,
    message: str = "",
    author: str = "",
    changes: Sequence[str] = (),
    masked: bool = False,
) -> str:
    """`docker commit [--pause=false] [-m …] [-a …] [-c …] <container> <repository:tag>`.
    `masked`: the values of secret-looking `ENV` changes hidden, for the job and audit line."""
    words = ["commit"] + ["--pause=false"] * (not pause)
    words += ["-m", message] * bool(message) + ["-a", author] * bool(author)
    words += _options("-c", [_masked_change(c) if masked else c for c in changes])
    return docker(*words, container, reference)


def _pair(name: str, value: str, masked: bool) -> str:
    """NAME=value, the value hidden when `masked` and the name looks secret (masking.py)."""
    return f"{name}={MASK if masked and is_secret(name) else value}"


def _masked_change(change: str) -> str:
    """A commit change with its secret-looking ENV values hidden: `ENV A=1 B=2` and the
    older `ENV NAME value` alike."""
    instruction, _, rest = change.partition(" ")
    if instruction.upper() != "ENV":
        return change
    words = rest.split()
    if words and "=" not in words[0]:
        return f"{instruction} {words[0]} {MASK}" if is_secret(words[0]) else change
    pairs = (word.partition("=") for word in words)
    return f"{instruction} " + " ".join(_pair(name, value, True) for name, _, value in pairs)


def container_recreate(
    spec: ContainerSpec,
    *,
    old_name: str,
    pull: bool = False,
    running: bool = True,
    paused: bool = False,
    networks: Sequence[str] = (),
    also: Sequence[str] = (),
    masked: bool = False,
) -> str:
    """What a recreate does, as the commands that would do it: the pull (with `pull`), the
    original renamed out of the way and stopped, its replacement created under its name with
    its settings (`spec`; `also`: the settings a spec cannot hold, copied all the same, named
    in a comment) on its other networks and started, and only then the original removed."""
    name = spec.name
    run = container_run(dataclasses.replace(spec, detach=False), masked=masked)
    steps = [image_pull(spec.image)] * pull + [docker("rename", name, old_name)]
    steps += [docker("unpause", old_name)] * paused + [docker("stop", old_name)] * running
    steps += ["docker create" + run.removeprefix("docker run")]
    steps += [docker("network", "connect", network, name) for network in networks]
    steps += [docker("start", name)] * running + [docker("rm", old_name)]
    line = " && ".join(steps)
    return line + (f"  # also copied: {', '.join(also)}" if also else "")


# Teams live in Berth's own database, not in the engine: their command lines are Berth's own
# management command, which does the same change from a shell (see commands/teams.py).


def manage(*words: str) -> str:
    return shlex.join(("python", "manage.py", *words))


def team_list() -> str:
    return manage("teams", "list")


def team_create(slug: str, name: str = "") -> str:
    """`--name` only when it says more than the slug, which is the name by default."""
    return manage("teams", "create", slug, *(["--name", name] if name and name != slug else []))


def team_add(slug: str, username: str, role: str) -> str:
    return manage("teams", "add", slug, username, "--role", role)


def team_remove(slug: str, username: str) -> str:
    return manage("teams", "remove", slug, username)


def compose(project: str, *words: str) -> str:
    """`docker compose -p <project> <words>` (Berth gives compose its files itself)."""
    return docker("compose", "-p", project, *words)


def team_assign(slug: str, project: str, engine: str = "") -> str:
    """`--engine` for a project on an engine other than the default one."""
    return manage("teams", "assign", slug, project, *_engine_option(engine))


def team_unassign(project: str, engine: str = "") -> str:
    return manage("teams", "unassign", project, *_engine_option(engine))


def _engine_option(engine: str) -> list[str]:
    return ["--engine", engine] if engine and engine != settings.BERTH_DEFAULT_ENGINE else []


def _shown_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """The labels a command line shows: Berth's empty label of no team is no option anyone
    would type (the form says "no team")."""
    return {k: v for k, v in labels.items() if (k, v) != (access.TEAM_LABEL, "")}


def engine_add(slug: str, address: str, cli_context: str = "") -> str:
    """Keys and certificates are given as files the line leaves out: never their content."""
    return manage(
        "engines",
        "add",
        slug,
        address,
        *_options("--context", [cli_context] if cli_context else []),
    )


def engine_context(slug: str, cli_context: str) -> str:
    return manage("engines", "context", slug, *([cli_context] if cli_context else []))


def engine_grant(slug: str, teams: Iterable[str], every_team: bool = False) -> str:
    if every_team:
        return manage("engines", "grant", slug, "--every-team")
    return manage("engines", "grant", slug, *_options("--team", teams))


def engine_pin(slug: str, ssh_host_key: str) -> str:
    return manage("engines", "pin", slug, ssh_host_key)


def engine_remove(slug: str) -> str:
    return manage("engines", "remove", slug)


def on_engine(command: str, engine, *, default: str) -> str:
    """`command` as typed against `engine`: `docker --context NAME ...` for an engine whose
    users have a docker context for it; else `docker -H <address> ...` (with --tlsverify over
    TLS) for any engine but the default one, whose commands read as they always have. The
    files of a TLS engine's certificates are left out: they are Berth's, not the reader's."""
    if not command.startswith("docker ") or command.startswith(("docker -H ", "docker --context ")):
        return command
    return docker_on(engine, default=default) + command[len("docker") :]


def docker_on(engine, *, default: str) -> str:
    """`docker` with the options that reach `engine` (see on_engine)."""
    if engine.cli_context:
        return shlex.join(["docker", "--context", engine.cli_context])
    if engine.slug == default:
        return "docker"
    return shlex.join(
        ["docker", "-H", engine.base_url, *(["--tlsverify"] if engine.tls_ca else [])]
    )
