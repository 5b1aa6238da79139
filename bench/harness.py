"""What every benchmark here shares, so that each script is only what it measures.

- the engine: refusing to run unless DOCKER_HOST names one (a unix socket), its API client,
  the docker CLI, and SIGTERM taking the way out Ctrl-C takes;
- the containers a run makes: named berthbench-<run>-<role>, labelled berth.bench=1 and
  berth.bench.run=<run>, and all removed at the end;
- Berth served by daphne on a free port of 127.0.0.1, with a throwaway BERTH_DATA_DIR
  (migrated), a secret key of its own and a superuser signed in; its process's CPU and memory;
- the engine's own socket spoken to directly, and a websocket client on a blocking socket;
- Berth's log frames, the numbered lines the log benchmarks write, and percentiles.
"""

import contextlib
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import docker
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri

ROOT = Path(__file__).resolve().parent.parent
IMAGE = os.environ.get("BERTH_TEST_IMAGE", "berth-test/busybox:latest")
PREFIX = "berthbench-"
LABEL = "berth.bench"
# Which run made a container, so an interrupted run removes its own and no one else's.
RUN_LABEL = "berth.bench.run"
# What ends a benchmark with "bench failed" and exit code 1 rather than a traceback.
BENCH_ERRORS = (RuntimeError, OSError, docker.errors.DockerException, subprocess.SubprocessError)


# --- the engine ------------------------------------------------------------------------------

PRIVATE_ENGINE = (
    ", such as the private test engine (DOCKER_HOST=unix:///tmp/berth-engine/docker.sock)"
)


def engine_host(what: str, *, suggestion: str = PRIVATE_ENGINE) -> str | None:
    """DOCKER_HOST if it names a unix socket, else None after saying why on stderr.

    A benchmark makes and removes containers, so it never falls back on your own engine."""
    docker_host = os.environ.get("DOCKER_HOST", "")
    if not docker_host:
        print(
            f"DOCKER_HOST is not set. This benchmark {what}, so it only runs on an engine "
            f"named explicitly{suggestion}.",
            file=sys.stderr,
        )
        return None
    if not docker_host.startswith("unix://"):
        print("The raw API client here speaks only to a unix:// socket.", file=sys.stderr)
        return None
    return docker_host


def engine_client(docker_host: str, timeout: int = 120) -> docker.APIClient | None:
    """The engine's API client, or None after saying on stderr that nothing answers."""
    try:
        return docker.APIClient(base_url=docker_host, version="auto", timeout=timeout)
    except docker.errors.DockerException as e:
        print(f"No engine answers at {docker_host}: {e}", file=sys.stderr)
        return None


def docker_cli(name: str) -> str | None:
    """The docker CLI's path, or None after saying on stderr that there is none."""
    found = shutil.which(name)
    if found is None:
        print(f"No docker CLI found as {name!r}.", file=sys.stderr)
    return found


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def exit_on_sigterm() -> None:
    """SIGTERM takes the same way out as Ctrl-C, so the cleanup runs either way."""
    signal.signal(signal.SIGTERM, _interrupt)


@dataclass(frozen=True)
class Run:
    """What a benchmark works with: its engine, the containers it makes, a scratch folder."""

    docker_host: str
    api: docker.APIClient
    containers: "Containers"
    tmp: Path

    @property
    def socket_path(self) -> str:
        return self.docker_host.removeprefix("unix://")


def run_bench(
    what: str,
    measure: Callable[[Run], int],
    *,
    timeout: int = 120,
    suggestion: str = PRIVATE_ENGINE,
) -> int:
    """Runs `measure` on the engine DOCKER_HOST names and returns the exit code: its own, 2
    without such an engine, 130 on Ctrl-C or SIGTERM, 1 when it fails. The containers it
    made are removed whatever happens. `what` says what the benchmark does to the engine."""
    docker_host = engine_host(what, suggestion=suggestion)
    if docker_host is None:
        return 2
    exit_on_sigterm()
    api = engine_client(docker_host, timeout=timeout)
    if api is None:
        return 1
    containers = Containers(api)
    try:
        with tempfile.TemporaryDirectory(prefix="berth-bench-") as tmp:
            print(f"engine {docker_host} (API {api.api_version}), run {containers.run}", flush=True)
            return measure(Run(docker_host, api, containers, Path(tmp)))
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except BENCH_ERRORS as e:
        print(f"bench failed: {e}", file=sys.stderr)
        return 1
    finally:
        containers.remove_all()
        api.close()


def say(*args, **kwargs) -> None:
    """print, for the cleanup: not even a closed stdout (`| head`) may stop it."""
    with contextlib.suppress(OSError):
        print(*args, **kwargs)


# --- containers made for a run ---------------------------------------------------------------


class Containers:
    """The containers a run makes, named berthbench-<run>-<role> and labelled with the run, so
    that remove_all finds every one at the end and no one else's."""

    def __init__(self, api: docker.APIClient) -> None:
        self.api = api
        self.run = secrets.token_hex(3)
        self.made: list[str] = []  # the cleanup record; threads may append to it
        # More labels for every container of the run (a team's, so its members see them).
        self.labels: dict[str, str] = {}

    def create(
        self, role: str, command: list[str], *, start: bool = True, tty: bool = False, **host
    ) -> str:
        """Creates (and by default starts) a container of the test image; returns its id."""
        if not self.made:
            self.api.inspect_image(IMAGE)  # fails early, and clearly, when the image is missing
        created = self.api.create_container(
            IMAGE,
            command=command,
            name=f"{PREFIX}{self.run}-{role}",
            labels={**self.labels, LABEL: "1", RUN_LABEL: self.run},
            tty=tty,
            stop_signal="SIGKILL",
            host_config=self.api.create_host_config(**host),
        )
        self.made.append(created["Id"])
        if start:
            self.api.start(created["Id"])
        return created["Id"]

    def remove_all(self) -> None:
        """Removes the run's containers; a second Ctrl-C is ignored meanwhile, so that none is
        left behind."""
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            self._find_unrecorded()
            if not self.made:
                return
            say(f"removing {len(self.made)} containers", flush=True)
            with ThreadPoolExecutor(max_workers=8) as pool:
                failures = [f for f in pool.map(self._remove, self.made) if f]
            for failure in failures:
                say(f"could not remove {failure}", file=sys.stderr)
            if failures:
                say(
                    "remove them with: docker rm -f "
                    f"$(docker ps -aq --filter label={RUN_LABEL}={self.run})",
                    file=sys.stderr,
                )
        finally:
            signal.signal(signal.SIGINT, previous)

    def _find_unrecorded(self) -> None:
        """Adds to the record what a Ctrl-C left made but unrecorded, found by its label."""
        with contextlib.suppress(docker.errors.DockerException):
            found = self.api.containers(
                all=True, filters={"label": f"{RUN_LABEL}={self.run}"}, quiet=True
            )
            self.made = list(dict.fromkeys([*self.made, *(c["Id"] for c in found)]))

    def _remove(self, container_id: str) -> str | None:
        """Removes one container; says why not if it could not."""
        try:
            self.api.remove_container(container_id, force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.DockerException as error:
            return f"{container_id[:12]}: {error}"
        return None


# --- Berth, served by daphne -----------------------------------------------------------------


@dataclass(frozen=True)
class Cpu:
    """A process's CPU so far (Linux /proc): its time on a CPU (user and system, all threads,
    ended ones too), and how long its main thread, the event loop, ran on a CPU and waited
    for one while ready to run. On a shared machine the wait is the machine, not the process."""

    used: float
    loop_ran: float
    loop_waited: float

    @classmethod
    def of(cls, pid: int) -> "Cpu":
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        used = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        ran, waited, _ = Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()
        return cls(used, int(ran) / 1e9, int(waited) / 1e9)

    def __sub__(self, other: "Cpu") -> "Cpu":
        return Cpu(
            self.used - other.used,
            self.loop_ran - other.loop_ran,
            self.loop_waited - other.loop_waited,
        )


class SignedInClient:
    """A keep-alive HTTP client of Berth that keeps the cookies it is given, as a browser does."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookies: dict[str, str] = {}

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, bytes]:
        """One request; the status and the whole body."""
        headers = {"Host": f"127.0.0.1:{self.port}"}
        if self.cookies:
            headers["Cookie"] = self.cookie_header()
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, data

    def sign_in(self, username: str, password: str) -> None:
        """Through the login form, with its CSRF token, as a browser does."""
        status, page = self.request("GET", "/accounts/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or token is None:
            raise RuntimeError(f"the sign-in page answered {status}")
        form = {
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": token.group(1).decode(),
        }
        status, _ = self.request("POST", "/accounts/login/", urlencode(form))
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"signing in answered {status}")

    def close(self) -> None:
        self.conn.close()


@dataclass
class BerthServer:
    """daphne serving Berth, and its user signed in."""

    port: int
    pid: int
    client: SignedInClient
    user_id: int
    secret_key: str

    def __str__(self) -> str:
        return f"daphne (pid {self.pid}) on 127.0.0.1:{self.port}"

    def ws_url(self, path: str, **query: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}" + (f"?{urlencode(query)}" if query else "")

    def headers(self) -> dict[str, str]:
        """What a browser on Berth's page sends with a websocket: its cookies and Origin."""
        return {"Cookie": self.client.cookie_header(), "Origin": f"http://127.0.0.1:{self.port}"}

    def ticket(self, container_id: str, command: list[str]) -> str:
        """An exec ticket for `command` as the exec page issues it (valid for a minute): what
        the terminal runs is the ticket's, never the query string's."""
        return exec_ticket(
            self.secret_key, user_id=self.user_id, container_id=container_id, command=command
        )

    def cpu(self) -> Cpu:
        return Cpu.of(self.pid)

    def rss_kib(self) -> int:
        """The server process's resident memory now (VmRSS, KiB)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS in /proc/<pid>/status")


def exec_ticket(secret_key: str, *, user_id: int, container_id: str, command: list[str]) -> str:
    """Berth's own ticket code, run here with the server's secret key."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from django.conf import settings

    if not settings.configured:
        settings.configure(SECRET_KEY=secret_key)
    from containers_app import tickets

    return tickets.issue(user_id=user_id, container_id=container_id, command=command)


@contextlib.contextmanager
def berth_server(
    tmp: Path,
    *,
    docker_host: str,
    team: str | None = None,
    before: Callable[[dict], None] | None = None,
) -> Iterator[BerthServer]:
    """daphne serving Berth on a free port of 127.0.0.1, with a throwaway data folder in `tmp`,
    a secret key of its own (so the exec benchmarks can issue tickets) and a superuser, signed
    in; with `team`, an admin of that team instead, who sees what carries its label. daphne's
    log is shown when the benchmark fails (not when it is interrupted) or the log holds a
    traceback. `before(env)` runs once the data folder is ready, before daphne starts (a
    `manage.py` command in that environment)."""
    username, password = "bench", secrets.token_urlsafe(16)
    secret_key = secrets.token_urlsafe(50)
    data_dir = tmp / "data"
    env = server_env(docker_host, data_dir=data_dir, secret_key=secret_key, password=password)
    user_id = prepare_data(env, data_dir, username, team=team)
    if before is not None:
        before(env)
    port = free_port()
    log_path = tmp / "daphne.log"
    process = start_daphne(port, env, log_path)
    client = SignedInClient(port)
    failed = False
    try:
        wait_listening(port, process)
        client.sign_in(username, password)
        yield BerthServer(
            port=port, pid=process.pid, client=client, user_id=user_id, secret_key=secret_key
        )
    except Exception:
        failed = True
        raise
    finally:
        client.close()
        stop(process)
        show_log(log_path, failed=failed)


def venv_python() -> Path:
    python = ROOT / ".venv" / "bin" / "python"
    return python if python.exists() else Path(sys.executable)


def server_env(docker_host: str, *, data_dir: Path, secret_key: str, password: str) -> dict:
    """The server's environment: this one's, less a database it names, plus the bench's."""
    env = {k: v for k, v in os.environ.items() if k != "BERTH_DATABASE"}
    env.update(
        DJANGO_SETTINGS_MODULE="dashboard.settings",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secret_key,
        DOCKER_HOST=docker_host,
        BERTH_DATA_DIR=str(data_dir),
        BERTH_LOG_LEVEL="WARNING",
        DJANGO_SUPERUSER_PASSWORD=password,
    )
    # The benchmarks open hundreds of websockets as one user and replay whole 50 MB logs,
    # past the limits a server has by default.
    env.setdefault("BERTH_MAX_WEBSOCKETS_PER_USER", "10000")
    env.setdefault("BERTH_LOG_HISTORY_BYTES", str(2**30))
    return env


def prepare_data(env: dict, data_dir: Path, username: str, *, team: str | None = None) -> int:
    """Migrates the data folder and makes the user (its password from the environment): a
    superuser, or with `team` an admin of that team and nothing more; returns the user's id,
    which exec tickets name."""
    manage = [str(venv_python()), str(ROOT / "manage.py")]

    def run(*words: str) -> None:
        subprocess.run([*manage, *words], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)

    run("migrate", "--noinput", "-v0")
    run("createsuperuser", "--noinput", "--username", username, "--email", "")
    with contextlib.closing(sqlite3.connect(data_dir / "berth.sqlite3")) as db:
        (user_id,) = db.execute(
            "SELECT id FROM auth_user WHERE username = ?", (username,)
        ).fetchone()
        if team:
            with db:
                db.execute(
                    "UPDATE auth_user SET is_superuser = 0, is_staff = 0 WHERE id = ?", (user_id,)
                )
    if team:
        run("teams", "create", team)
        run("teams", "add", team, username, "--role", "admin")
    return user_id


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_daphne(port: int, env: dict, log_path: Path) -> subprocess.Popen:
    daphne = venv_python().parent / "daphne"
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [str(daphne), "-b", "127.0.0.1", "-p", str(port), "dashboard.asgi:application"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def wait_listening(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"daphne did not start listening on {port}")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def show_log(log_path: Path, *, failed: bool) -> None:
    """daphne's log from its first traceback, else its end if the benchmark failed."""
    log = log_path.read_text(errors="replace")
    if "Traceback" in log:
        start = log.find("Traceback")
    elif failed:
        start = max(len(log) - 3000, 0)
    else:
        return
    say(f"daphne's log:\n{log[start : start + 3000]}", file=sys.stderr)


# --- the engine, spoken to directly ----------------------------------------------------------


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 120) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


def engine_request(
    conn: http.client.HTTPConnection, method: str, path: str, body: object = None
) -> tuple[int, bytes]:
    """One request on a keep-alive connection to the engine; the whole answer."""
    headers = {"Host": "docker"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def open_hijacked(socket_path: str, path: str, body: dict, timeout: float = 60) -> "PendingSocket":
    """POSTs `body` with Upgrade: tcp, as `docker exec -it` does; returns the raw socket, past
    the answer's headers (any bytes after them come first from its recv)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(socket_path)
    payload = json.dumps(body).encode()
    sock.sendall(
        (
            f"POST {path} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n"
            f"Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode()
        + payload
    )
    head = b""
    while b"\r\n\r\n" not in head:
        data = sock.recv(65536)
        if not data:
            raise RuntimeError(f"the engine closed {path} before answering")
        head += data
    header, _, rest = head.partition(b"\r\n\r\n")
    status = int(header.split(b" ", 2)[1])
    if status not in (101, 200):
        sock.close()
        raise RuntimeError(f"the engine answered {status} to {path}: {rest[:200]!r}")
    return PendingSocket(sock, rest)


class PendingSocket:
    """A socket with some bytes already read from it."""

    def __init__(self, sock: socket.socket, pending: bytes) -> None:
        self.sock = sock
        self.pending = pending

    def recv(self, size: int) -> bytes:
        if self.pending:
            data, self.pending = self.pending, b""
            return data
        return self.sock.recv(size)

    def sendall(self, data: bytes) -> None:
        self.sock.sendall(data)

    def settimeout(self, timeout: float | None) -> None:
        self.sock.settimeout(timeout)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


# --- a websocket on a plain blocking socket --------------------------------------------------


class BlockingWebSocket:
    """A websocket client with no thread or event loop of its own (websockets' sans-I/O
    protocol on a blocking socket), so timing it costs what timing a raw socket costs."""

    def __init__(self, url: str, headers: dict[str, str], timeout: float = 60) -> None:
        uri = parse_uri(url)
        self.sock = socket.create_connection((uri.host, uri.port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.protocol = ClientProtocol(uri, max_size=None)
        request = self.protocol.connect()
        for name, value in headers.items():
            request.headers[name] = value
        self.protocol.send_request(request)
        self._flush()
        self.messages: list[bytes | str] = []
        self.closed_code: int | None = None
        while self.protocol.handshake_exc is None and self.protocol.state.name == "CONNECTING":
            self._receive()
        if self.protocol.handshake_exc is not None:
            raise RuntimeError(f"{url}: the handshake failed: {self.protocol.handshake_exc}")

    def _flush(self) -> None:
        data = b"".join(self.protocol.data_to_send())
        if data:
            self.sock.sendall(data)

    def _receive(self) -> None:
        data = self.sock.recv(262144)
        if data:
            self.protocol.receive_data(data)
        else:
            self.protocol.receive_eof()
        for event in self.protocol.events_received():
            if not isinstance(event, Frame):
                continue  # the handshake's response
            if event.opcode is Opcode.TEXT:
                self.messages.append(event.data.decode())
            elif event.opcode is Opcode.BINARY:
                self.messages.append(bytes(event.data))
            elif event.opcode is Opcode.CLOSE:
                self.closed_code = int.from_bytes(event.data[:2], "big") if event.data else 0
        self._flush()
        if not data:
            raise ConnectionError("the server closed the connection")

    def recv(self) -> bytes | str:
        """The next message (blocks)."""
        while not self.messages:
            if self.closed_code is not None:
                raise ConnectionError(f"closed with {self.closed_code}")
            self._receive()
        return self.messages.pop(0)

    def send_bytes(self, data: bytes) -> None:
        self.protocol.send_binary(data)
        self._flush()

    def send_text(self, text: str) -> None:
        self.protocol.send_text(text.encode())
        self._flush()

    def settimeout(self, timeout: float | None) -> None:
        self.sock.settimeout(timeout)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self.protocol.state.name == "OPEN":
                self.protocol.send_close(1000)
                self._flush()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


# --- Berth's log frames, and the numbered lines the log benchmarks write ---------------------


# --- jobs ------------------------------------------------------------------------------------

JOB_ENDED = ("done", "failed", "cancelled")


def job_through(berth: BerthServer, path: str, fields: dict[str, str]) -> tuple[float, float]:
    """POSTs a form that starts a job, then follows the job's websocket to its last message,
    acknowledging each as the job page does: (seconds from the POST, messages a second).
    Raises RuntimeError unless the job ends done."""
    client = berth.client
    body = urlencode({**fields, "csrfmiddlewaretoken": client.cookies["csrftoken"]})
    started = time.perf_counter()
    status, location, _ = form_post(client, path, body)
    if status != 302:
        raise RuntimeError(f"{path} answered {status}")
    job_id = re.search(r"/jobs/(\d+)/", location).group(1)
    socket = BlockingWebSocket(berth.ws_url(f"/ws/jobs/{job_id}/"), berth.headers())
    opened = time.perf_counter()
    messages = 0
    try:
        while True:
            update = json.loads(socket.recv())
            messages += 1
            if update.get("state") in JOB_ENDED:
                break  # the server closes the socket after the last message
            socket.send_text('{"ack":1}')
    finally:
        socket.close()
    ended = time.perf_counter()
    if update["state"] != "done":
        raise RuntimeError(f"the job ended {update['state']}: {update.get('result')}")
    return ended - started, messages / max(ended - opened, 1e-6)


def form_post(client: "SignedInClient", path: str, body: str) -> tuple[int, str, bytes]:
    """A form POST with the CSRF token as a browser sends it: status, Location and body."""
    headers = {
        "Host": f"127.0.0.1:{client.port}",
        "Cookie": client.cookie_header(),
        "Content-Type": "application/x-www-form-urlencoded",
        "Origin": f"http://127.0.0.1:{client.port}",
    }
    client.conn.request("POST", path, body=body, headers=headers)
    response = client.conn.getresponse()
    data = response.read()
    return response.status, response.headers.get("Location", ""), data


def log_frame(message: str) -> tuple[dict, list[str]]:
    """A frame of Berth's log websocket: its JSON head ({"blocks": ...} for lines, else a
    notice), and its lines as "<timestamp> <text>" (see streams/logs.BlockFrames)."""
    head, _, body = message.partition("\n")
    data = json.loads(head)
    return data, (body.split("\n") if data.get("blocks") else [])


# With an 8-digit number and a space before it, a line of 100 bytes and its newline.
PAD = "".join(chr(ord("a") + i % 26) for i in range(91))


def line_number(line: str) -> int:
    """The number a numbered line starts with, after the engine's timestamp."""
    return int(line[line.index(" ") + 1 :][:8])


# --- statistics ------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100), interpolated between the nearest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def describe(name: str, seconds: Sequence[float], width: int = 6) -> str:
    """A line of a sample's percentiles, min and max, in ms."""
    ms = [s * 1000 for s in seconds]
    return (
        f"  {name:{width}}  n={len(ms):<4} p50 {percentile(ms, 50):7.2f} ms  "
        f"p95 {percentile(ms, 95):7.2f}  p99 {percentile(ms, 99):7.2f}  "
        f"min {min(ms):7.2f}  max {max(ms):7.2f}"
    )


def median(values: Sequence[float]) -> float:
    return statistics.median(values)
