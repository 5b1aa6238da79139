"""`docker exec`: make an exec, attach to it, resize its terminal, read its exit code."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from containers_app.engine.client import Engine, api
from containers_app.engine.errors import translated
from containers_app.engine.raw import RawStream, open_hijacked, request_json


@dataclass(frozen=True)
class ExecState:
    running: bool
    exit_code: int | None
    pid: int


def exec_create(
    *,
    engine: Engine,
    container_id: str,
    command: Sequence[str],
    user: str = "",
    workdir: str = "",
    tty: bool = True,
    environment: Mapping[str, str] | None = None,
) -> str:
    """`docker exec -it`'s first half: the exec, not yet started. Returns its id."""
    env = {"TERM": "xterm-256color"} if tty else {}
    env.update(environment or {})
    body = {
        "AttachStdin": True,
        "AttachStdout": True,
        "AttachStderr": True,
        "Tty": tty,
        "Cmd": list(command),
        "User": user,
        "Env": [f"{name}={value}" for name, value in env.items()] or None,
    }
    if workdir:
        body["WorkingDir"] = workdir
    created = request_json(engine, "POST", f"/containers/{container_id}/exec", body=body)
    return created["Id"]


def exec_attach(*, engine: Engine, exec_id: str, tty: bool = True) -> RawStream:
    """Starts the exec and returns its socket: write input to it, read output from it."""
    return open_hijacked(engine, f"/exec/{exec_id}/start", {"Detach": False, "Tty": tty})


def exec_resize(*, engine: Engine, exec_id: str, rows: int, cols: int) -> None:
    request_json(engine, "POST", f"/exec/{exec_id}/resize", params={"h": rows, "w": cols})


def exec_state(*, engine: Engine, exec_id: str) -> ExecState:
    data = request_json(engine, "GET", f"/exec/{exec_id}/json")
    return ExecState(
        running=bool(data.get("Running")), exit_code=data.get("ExitCode"), pid=data.get("Pid") or 0
    )


def exec_output(*, engine: Engine, container_id: str, command: Sequence[str]) -> tuple[int, str]:
    """Runs a short command to its end: (exit code, output). For probes like `command -v`."""
    with translated(engine.base_url):
        client = api(engine)
        exec_id = client.exec_create(container_id, list(command), stdout=True, stderr=True)["Id"]
        output = client.exec_start(exec_id)
        code = client.exec_inspect(exec_id).get("ExitCode")
    return (code if code is not None else -1), output.decode("utf-8", "replace")


# Signals every process whose environment holds the line "$1" (NAME=value).
_HANGUP_SCRIPT = (
    'for p in /proc/[0-9]*; do tr "\\0" "\\n" < "$p/environ" 2>/dev/null'
    ' | grep -qxF "$1" && kill -HUP "${p#/proc/}" 2>/dev/null; done; true'
)


def exec_hangup(*, engine: Engine, container_id: str, marker: str, user: str = "") -> None:
    """Sends SIGHUP, as a terminal's hang-up does, to the processes whose environment holds
    `marker` (NAME=value, given to exec_create): the engine leaves a TTY exec running when
    its connection closes. Runs as `user`, who may signal their own processes."""
    with translated(engine.base_url):
        client = api(engine)
        command = ["sh", "-c", _HANGUP_SCRIPT, "sh", marker]
        exec_id = client.exec_create(container_id, command, user=user)["Id"]
        client.exec_start(exec_id)
