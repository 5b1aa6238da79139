"""What the websocket benchmarks share: the engine check, Berth served by daphne and signed in,
the engine's own socket, a plain blocking websocket, containers made and removed, percentiles.

Conventions as bench/list_containers.py: refuse to run without DOCKER_HOST, a throwaway
BERTH_DATA_DIR, daphne on a free port of 127.0.0.1, a staff user signed in, cleanup on exit.
"""

import contextlib
import http.client
import json
import os
import re
import secrets
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import docker
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "berthbench-"
LABEL = "berth.bench"
# Which run made a container, so an interrupted run removes its own and no one else's.
RUN_LABEL = "berth.bench.run"
IMAGE = os.environ.get("BERTH_TEST_IMAGE", "berth-test/busybox:latest")


def engine_socket(what: str) -> str | None:
    """The unix socket DOCKER_HOST names, or None (said why) when it names none."""
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
    return docker_host.removeprefix("unix://")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def exit_on_sigterm() -> None:
    """SIGTERM takes the same way out as Ctrl-C, so the cleanup runs either way."""
    signal.signal(signal.SIGTERM, _interrupt)


# --- statistics ------------------------------------------------------------------------------


def log_frame(message: str) -> tuple[dict, list[str]]:
    """A frame of Berth's log websocket: its JSON head ({"blocks": ...} for lines, else a
    notice), and its lines as "<timestamp> <text>" (see streams/logs.BlockFrames)."""
    head, _, body = message.partition("\n")
    data = json.loads(head)
    return data, (body.split("\n") if data.get("blocks") else [])


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
    ms = [s * 1000 for s in seconds]
    return (
        f"  {name:{width}}  n={len(ms):<4} p50 {percentile(ms, 50):7.2f} ms  "
        f"p95 {percentile(ms, 95):7.2f}  p99 {percentile(ms, 99):7.2f}  "
        f"min {min(ms):7.2f}  max {max(ms):7.2f}"
    )


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


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


# --- containers made for a run ---------------------------------------------------------------


class Containers:
    """Containers a run makes, named berthbench-<run>-<role>, labelled with the run, and
    removed at the end (a second Ctrl-C during the removal is ignored)."""

    def __init__(self, api: docker.APIClient) -> None:
        self.api = api
        self.run = secrets.token_hex(3)
        self.made: list[str] = []

    def create(
        self, role: str, command: list[str], *, start: bool = True, tty: bool = False, **host
    ) -> str:
        created = self.api.create_container(
            IMAGE,
            command=command,
            name=f"{PREFIX}{self.run}-{role}",
            labels={LABEL: "1", RUN_LABEL: self.run},
            tty=tty,
            stop_signal="SIGKILL",
            host_config=self.api.create_host_config(**host),
        )
        self.made.append(created["Id"])
        if start:
            self.api.start(created["Id"])
        return created["Id"]

    def remove_all(self) -> None:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            with contextlib.suppress(docker.errors.DockerException):
                found = self.api.containers(
                    all=True, filters={"label": f"{RUN_LABEL}={self.run}"}, quiet=True
                )
                self.made = list(dict.fromkeys([*self.made, *(c["Id"] for c in found)]))
            if not self.made:
                return
            print(f"removing {len(self.made)} containers", flush=True)

            def one(container_id: str) -> str | None:
                try:
                    self.api.remove_container(container_id, force=True)
                except docker.errors.NotFound:
                    pass
                except docker.errors.DockerException as error:
                    return f"{container_id[:12]}: {error}"
                return None

            with ThreadPoolExecutor(max_workers=8) as pool:
                failures = [f for f in pool.map(one, self.made) if f]
            for failure in failures:
                print(f"could not remove {failure}", file=sys.stderr)
            if failures:
                print(
                    "remove them with: docker rm -f "
                    f"$(docker ps -aq --filter label={RUN_LABEL}={self.run})",
                    file=sys.stderr,
                )
        finally:
            signal.signal(signal.SIGINT, previous)


# --- Berth, served by daphne -----------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """The processor time a process has used so far, user and system (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_schedule(pid: int) -> tuple[float, float]:
    """Seconds a process's main thread (its event loop) has run on a CPU, and waited for one
    while ready to run (Linux schedstat). The wait is the machine's load, not the process."""
    ran, waited, _ = Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()
    return int(ran) / 1e9, int(waited) / 1e9


@dataclass
class Berth:
    """A daphne serving Berth, and the signed-in staff user's session."""

    port: int
    session: str
    user_id: int
    secret_key: str
    pid: int

    def ws_url(self, path: str, **query: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}" + (f"?{urlencode(query)}" if query else "")

    def headers(self) -> dict[str, str]:
        """What a browser's websocket sends: the session cookie and the page's origin."""
        return {"Cookie": f"sessionid={self.session}", "Origin": f"http://127.0.0.1:{self.port}"}

    def ticket(self, container_id: str) -> str:
        """An exec ticket as the exec page issues it (valid for a minute)."""
        return exec_ticket(self.secret_key, user_id=self.user_id, container_id=container_id)


def exec_ticket(secret_key: str, *, user_id: int, container_id: str) -> str:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from django.conf import settings

    if not settings.configured:
        settings.configure(SECRET_KEY=secret_key)
    from containers_app import tickets

    return tickets.issue(user_id=user_id, container_id=container_id)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def berth_server(
    tmp: Path, *, docker_host: str, env: dict[str, str] | None = None
) -> Iterator[Berth]:
    """daphne serving Berth on a free port, with a throwaway data folder, a secret key of its
    own (the script issues exec tickets with it) and a staff user, signed in."""
    python = ROOT / ".venv" / "bin" / "python"
    python = python if python.exists() else Path(sys.executable)
    daphne = python.parent / "daphne"
    username, password = "bench", secrets.token_urlsafe(16)
    secret_key = secrets.token_urlsafe(50)
    server_env = {k: v for k, v in os.environ.items() if k != "BERTH_DATABASE"}
    data_dir = tmp / "data"
    server_env.update(
        DJANGO_SETTINGS_MODULE="dashboard.settings",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secret_key,
        DOCKER_HOST=docker_host,
        BERTH_DATA_DIR=str(data_dir),
        BERTH_LOG_LEVEL="WARNING",
        DJANGO_SUPERUSER_PASSWORD=password,
    )
    server_env.update(env or {})
    manage = [str(python), str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=server_env, cwd=ROOT, check=True)
    subprocess.run(
        [*manage, "createsuperuser", "--noinput", "--username", username, "--email", ""],
        env=server_env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    with contextlib.closing(sqlite3.connect(data_dir / "berth.sqlite3")) as db:
        (user_id,) = db.execute(
            "SELECT id FROM auth_user WHERE username = ?", (username,)
        ).fetchone()
    port = free_port()
    log_path = tmp / "daphne.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [str(daphne), "-b", "127.0.0.1", "-p", str(port), "dashboard.asgi:application"],
            env=server_env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    failed = False
    try:
        wait_listening(port, server, log_path)
        print(f"berth: daphne (pid {server.pid}) on 127.0.0.1:{port}", flush=True)
        session = sign_in(port, username, password)
        yield Berth(
            port=port, session=session, user_id=user_id, secret_key=secret_key, pid=server.pid
        )
    except BaseException:
        failed = True
        raise
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log = log_path.read_text(errors="replace")
        if failed or "Traceback" in log:
            start = log.find("Traceback") if "Traceback" in log else max(len(log) - 3000, 0)
            print(f"daphne's log:\n{log[start : start + 3000]}", file=sys.stderr)


def sign_in(port: int, username: str, password: str) -> str:
    """Signs in through the login form; returns the session cookie."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    cookies: dict[str, str] = {}

    def request(method: str, path: str, body: str | None = None) -> tuple[int, bytes]:
        headers = {"Host": f"127.0.0.1:{port}"}
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, data

    try:
        status, page = request("GET", "/accounts/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or token is None:
            raise RuntimeError(f"the sign-in page answered {status}")
        form = {"username": username, "password": password}
        form["csrfmiddlewaretoken"] = token.group(1).decode()
        status, _ = request("POST", "/accounts/login/", urlencode(form))
        if status != 302 or "sessionid" not in cookies:
            raise RuntimeError(f"signing in answered {status}")
        return cookies["sessionid"]
    finally:
        conn.close()


def wait_listening(port: int, server: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    tail = log_path.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"daphne did not start listening on {port}; its log:\n{tail}")


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
            if isinstance(event, Frame):
                if event.opcode is Opcode.TEXT:
                    self.messages.append(event.data.decode())
                elif event.opcode is Opcode.BINARY:
                    self.messages.append(bytes(event.data))
                elif event.opcode is Opcode.CLOSE:
                    self.closed_code = int.from_bytes(event.data[:2], "big") if event.data else 0
            elif isinstance(event, Response):
                pass
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
