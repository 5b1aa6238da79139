"""A log download from a real daphne goes at the client's pace: a slow client does not make
the server hold the log (containers_app/backpressure.py), and one that leaves mid-download
closes the engine's response.

daphne runs as a subprocess, as `make run` runs it, with a data folder of its own; its memory
is read from /proc, which is what a user of a small machine sees."""

import contextlib
import http.client
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.conftest import Made, wait_on_condition
from tests.served import served

# Lines of 4,000 zeros and a newline: 104 MB, as in test_logs.py.
LOG_LINES = 26_000
BLOCK = 64 * 1024
# 64 KiB every 8 ms: at most 8 MB/s, a slow link.
SLOW_PAUSE = 0.008
# What daphne may grow by over a whole download; without flow control it grew by the log.
MAX_GROWTH_MIB = 20


@dataclass(frozen=True)
class Daphne:
    port: int
    pid: int
    cookie: str
    log: Path

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.pid}/status").read_text()
        return int(re.search(r"^VmRSS:\s+(\d+)", status, re.MULTILINE).group(1))

    def sockets(self) -> int:
        """How many sockets daphne has open: the listener, the engine client's pool and the
        asyncio loop's own, plus one per client and per engine response streaming."""
        count = 0
        for fd in Path(f"/proc/{self.pid}/fd").iterdir():
            with contextlib.suppress(FileNotFoundError):  # closed meanwhile
                count += str(fd.readlink()).startswith("socket:")
        return count


def _sign_in(port: int, username: str, password: str) -> str:
    """Through the sign-in form, as a browser does; the session's Cookie header."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/accounts/login/")
        response = conn.getresponse()
        page = response.read()
        cookies = {}

        def keep(response) -> None:
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = header.partition("=")
                cookies[name.strip()] = rest.split(";", 1)[0]

        keep(response)
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = {"username": username, "password": password, "csrfmiddlewaretoken": token}
        conn.request(
            "POST",
            "/accounts/login/",
            body=urlencode(form),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
            },
        )
        response = conn.getresponse()
        response.read()
        keep(response)
        assert response.status == 302 and "sessionid" in cookies, response.status
        return "; ".join(f"{k}={v}" for k, v in cookies.items())
    finally:
        conn.close()


@pytest.fixture(scope="module")
def daphne(tmp_path_factory) -> Iterator[Daphne]:
    """Berth served by daphne on a free loopback port, on the test engine, signed in."""
    with served(tmp_path_factory.mktemp("berth-data")) as server:
        yield Daphne(
            server.port,
            server.pid,
            _sign_in(server.port, server.username, server.password),
            server.log,
        )


@pytest.fixture(scope="module")
def big_log(docker_api) -> Iterator[str]:
    """An exited container whose log is LOG_LINES lines of 4,000 zeros."""
    made = Made(docker_api)
    command = ["sh", "-c", f"yes $(printf %04000d 0) | head -n {LOG_LINES}"]
    try:
        container = made.container(command=command)
        docker_api.wait(container["Id"], timeout=120)
        yield container["Id"]
    finally:
        made.cleanup()


class Peak:
    """Samples a process's resident memory every few milliseconds in a thread; its peak."""

    def __init__(self, server: Daphne) -> None:
        self.server = server
        self.before = server.rss_kib()
        self.peak = self.before
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def sample(self) -> None:
        while not self.done.wait(0.01):
            self.peak = max(self.peak, self.server.rss_kib())

    def __enter__(self) -> "Peak":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join()
        self.peak = max(self.peak, self.server.rss_kib())

    @property
    def grown_mib(self) -> float:
        return (self.peak - self.before) / 1024


@dataclass
class Received:
    size: int = 0
    newlines: int = 0
    not_zeros: int = 0
    seconds: float = 0.0


def download(
    server: Daphne,
    container_id: str,
    *,
    pause: float = 0,
    leave_after: int | None = None,
    before_leaving: Callable[[], object] = lambda: None,
) -> Received:
    """GETs the container's log download, reading BLOCK bytes at a time with `pause` seconds
    between reads; counts the body without keeping it. Leaves (closing the connection, the
    rest unread) after `leave_after` bytes if told to, calling `before_leaving` first."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    received = Received()
    started = time.monotonic()
    try:
        conn.request(
            "GET", f"/containers/{container_id}/logs/download/", headers={"Cookie": server.cookie}
        )
        response = conn.getresponse()
        assert response.status == 200, response.status
        while data := response.read(BLOCK):
            received.size += len(data)
            received.newlines += data.count(b"\n")
            received.not_zeros += len(data.strip(b"0\n"))
            if leave_after is not None and received.size >= leave_after:
                before_leaving()
                break
            if pause:
                time.sleep(pause)
    finally:
        conn.close()
    received.seconds = time.monotonic() - started
    return received


@pytest.fixture(scope="module")
def warm(daphne, docker_api) -> Daphne:
    """daphne after one small download, so what it loads and starts once is not counted."""
    made = Made(docker_api)
    try:
        container = made.container(command=["sh", "-c", "seq 1 100000"])
        docker_api.wait(container["Id"], timeout=60)
        assert download(daphne, container["Id"]).newlines == 100_000
    finally:
        made.cleanup()
    return daphne


def whole(received: Received) -> bool:
    return (
        received.size == LOG_LINES * 4001
        and received.newlines == LOG_LINES
        and received.not_zeros == 0
    )


def test_a_slow_client_downloads_a_large_log_without_the_server_holding_it(warm, big_log):
    with Peak(warm) as peak:
        received = download(warm, big_log, pause=SLOW_PAUSE)

    assert whole(received), received
    rate = received.size / received.seconds / 1e6
    print(f"slow: {received.seconds:.1f} s ({rate:.1f} MB/s), daphne +{peak.grown_mib:.1f} MiB")
    assert peak.grown_mib < MAX_GROWTH_MIB, (
        f"daphne grew by {peak.grown_mib:.0f} MiB sending a 104 MB log at {rate:.1f} MB/s"
    )


def test_a_fast_client_downloads_a_large_log_quickly_and_without_the_server_holding_it(
    warm, big_log
):
    with Peak(warm) as peak:
        received = download(warm, big_log)

    assert whole(received), received
    rate = received.size / received.seconds / 1e6
    print(f"fast: {received.seconds:.1f} s ({rate:.0f} MB/s), daphne +{peak.grown_mib:.1f} MiB")
    assert peak.grown_mib < MAX_GROWTH_MIB
    # Measured at 30-70 MB/s on 2 busy vCPUs; this only catches a download gone slow.
    assert rate > 10, f"{rate:.1f} MB/s"


def test_a_slow_client_that_leaves_mid_download_closes_the_engines_response(warm, big_log):
    reading: list[int] = []
    received = download(
        warm,
        big_log,
        pause=SLOW_PAUSE,
        leave_after=2 * 2**20,
        before_leaving=lambda: reading.append(warm.sockets()),
    )

    assert 0 < received.size < LOG_LINES * 4001
    # Open while it read: the client's connection and the engine's response, which waits on
    # the client with most of the log unread. Both are closed once it left.
    wait_on_condition(lambda: warm.sockets() <= reading[0] - 2, timeout=15)
    assert "Traceback" not in warm.log.read_text()
