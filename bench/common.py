"""What the stream benchmarks share: the engine check, daphne with its process, websockets.

The signed-in HTTP client and the port helpers are list_containers.py's; here daphne's
process is kept too (to read its memory), and a websocket goes out with the session cookie
and an Origin header, as a browser's does.
"""

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
from list_containers import ROOT, Berth, free_port, wait_listening

IMAGE = os.environ.get("BERTH_TEST_IMAGE", "berth-test/busybox:latest")
PREFIX = "berthbench-"
LABEL = "berth.bench"
# Which run made a container, so an interrupted run removes its own and no one else's.
RUN_LABEL = "berth.bench.run"


def engine_host(what: str) -> str | None:
    """DOCKER_HOST if it names a unix socket, else None after saying why on stderr."""
    docker_host = os.environ.get("DOCKER_HOST", "")
    if not docker_host:
        print(
            f"DOCKER_HOST is not set. This benchmark {what}, so it only runs on an engine "
            "named explicitly, such as the private test engine "
            "(DOCKER_HOST=unix:///tmp/berth-engine/docker.sock).",
            file=sys.stderr,
        )
        return None
    if not docker_host.startswith("unix://"):
        print("The raw API client here speaks only to a unix:// socket.", file=sys.stderr)
        return None
    return docker_host


def docker_cli(name: str) -> str | None:
    found = shutil.which(name)
    if found is None:
        print(f"No docker CLI found as {name!r}.", file=sys.stderr)
    return found


def interrupt(signum: int, frame: object) -> None:
    """SIGTERM takes the same way out as Ctrl-C, so the containers are removed either way."""
    raise KeyboardInterrupt


def remove_containers(api: docker.APIClient, *, run: str, made: list[str]) -> None:
    """Removes this run's containers, the recorded ones and any left unrecorded; a second
    Ctrl-C is ignored meanwhile."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with contextlib.suppress(docker.errors.DockerException):
            found = api.containers(all=True, filters={"label": f"{RUN_LABEL}={run}"}, quiet=True)
            made = list(dict.fromkeys([*made, *(c["Id"] for c in found)]))
        if made:
            # Not even a closed stdout (`| head`) may stop the removal.
            with contextlib.suppress(OSError):
                print(f"removing {len(made)} containers", flush=True)
        for container_id in made:
            try:
                api.remove_container(container_id, force=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.DockerException as error:
                with contextlib.suppress(OSError):
                    print(f"could not remove {container_id[:12]}: {error}", file=sys.stderr)
    finally:
        signal.signal(signal.SIGINT, previous)


@dataclass
class Server:
    """daphne serving Berth: a signed-in HTTP client, its port and its process."""

    berth: Berth
    process: subprocess.Popen

    @property
    def port(self) -> int:
        return self.berth.port

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    @property
    def origin(self) -> str:
        """The Origin a browser on Berth's page sends with a websocket."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def cookie(self) -> str:
        """The Cookie header of the signed-in session."""
        return "; ".join(f"{k}={v}" for k, v in self.berth.cookies.items())

    def cpu(self) -> "Cpu":
        """The server's CPU so far: time on a CPU, and its event loop's wait for one."""
        return Cpu.of(self.process.pid)

    def rss_kib(self) -> int:
        """The server process's resident memory now, from /proc (VmRSS, KiB)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS in /proc/<pid>/status")


@dataclass
class Cpu:
    """A process's CPU time (utime + stime, dead threads included) and how long its main
    thread, the event loop, was runnable but waiting for a CPU (/proc/<pid>/schedstat): on a
    shared 2-core machine the second says how much the machine, not Berth, held it up."""

    ran: float
    waited: float

    @classmethod
    def of(cls, pid: int) -> "Cpu":
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ran = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        waited = int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
        return cls(ran, waited)

    def __sub__(self, other: "Cpu") -> "Cpu":
        return Cpu(self.ran - other.ran, self.waited - other.waited)


@contextlib.contextmanager
def berth_server(tmp: Path, *, docker_host: str, env_extra: dict | None = None) -> Iterator[Server]:
    """daphne on a free port of 127.0.0.1, with a throwaway data folder and a staff user."""
    python = ROOT / ".venv" / "bin" / "python"
    python = python if python.exists() else Path(sys.executable)
    daphne = python.parent / "daphne"
    username, password = "bench", secrets.token_urlsafe(16)
    env = {k: v for k, v in os.environ.items() if k not in ("BERTH_DATABASE", "DJANGO_SECRET_KEY")}
    env.update(
        DJANGO_SETTINGS_MODULE="dashboard.settings",
        DJANGO_DEBUG="false",
        DOCKER_HOST=docker_host,
        BERTH_DATA_DIR=str(tmp / "data"),
        BERTH_LOG_LEVEL="WARNING",
        DJANGO_SUPERUSER_PASSWORD=password,
        **(env_extra or {}),
    )
    manage = [str(python), str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, cwd=ROOT, check=True)
    subprocess.run(
        [*manage, "createsuperuser", "--noinput", "--username", username, "--email", ""],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    port = free_port()
    log_path = tmp / "daphne.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(daphne), "-b", "127.0.0.1", "-p", str(port), "dashboard.asgi:application"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_listening(port, process, log_path)
        berth = Berth(port)
        berth.sign_in(username, password)
        yield Server(berth=berth, process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
