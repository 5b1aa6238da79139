"""`docker exec`: make an exec, attach to it, resize its terminal, read its exit code."""

from collections.abc import Sequence
from dataclasses import dataclass

from containers_app.engine.client import Engine, api
from containers_app.engine.errors import translated
from containers_app.engine.raw import RawStream, open_hijacked


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
) -> str:
    """`docker exec -it`'s first half: the exec, not yet started. Returns its id."""
    with translated(engine.base_url):
        created = api(engine).exec_create(
            container_id,
            list(command),
            stdin=True,
            tty=tty,
            user=user,
            workdir=workdir or None,
            environment={"TERM": "xterm-256color"} if tty else None,
        )
    return created["Id"]


def exec_attach(*, engine: Engine, exec_id: str, tty: bool = True) -> RawStream:
    """Starts the exec and returns its socket: write input to it, read output from it."""
    return open_hijacked(engine, f"/exec/{exec_id}/start", {"Detach": False, "Tty": tty})


def exec_resize(*, engine: Engine, exec_id: str, rows: int, cols: int) -> None:
    with translated(engine.base_url):
        api(engine).exec_resize(exec_id, height=rows, width=cols)


def exec_state(*, engine: Engine, exec_id: str) -> ExecState:
    with translated(engine.base_url):
        data = api(engine).exec_inspect(exec_id)
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
