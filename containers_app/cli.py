"""The `docker` command line equivalent to each action, quoted so it can be pasted into a shell."""

import shlex
from collections.abc import Iterable, Mapping, Sequence

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


def image_save(ref: str) -> str:
    return docker("save", "--output", f"{ref}.tar", ref)


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
    words += _options("--label", _pairs(labels or {}))
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
    words += _options("--label", _pairs(labels or {}))
    words += _options("--opt", _pairs(options or {}))
    return docker(*words, *([name] if name else []))


def volume_remove(refs: Sequence[str], *, force: bool = False) -> str:
    return docker("volume", "rm", *(["-f"] if force else []), *refs)
