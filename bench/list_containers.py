"""Benchmark: Berth's containers list against `docker ps -a --no-trunc` and the raw Engine API.

Never run as a test. It creates COUNT containers (created, not started) on the engine that
DOCKER_HOST names, serves Berth with daphne on 127.0.0.1, and times, interleaved:
  berth   GET /containers/?all=1, signed in, whole response, keep-alive connection
  cli     `docker ps -a --no-trunc`, the whole process, output to /dev/null
  raw     GET /containers/json?all=1 on the engine's socket, whole body, keep-alive
then removes the containers (also on Ctrl-C or an error). `make bench` runs it against the
private test engine; see bench/README.md.
"""

import argparse
import contextlib
import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import docker

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "berthbench-"
LABEL = "berth.bench"
# Which run made a container, so an interrupted run removes its own and no one else's.
RUN_LABEL = "berth.bench.run"
IMAGE = os.environ.get("BERTH_TEST_IMAGE", "berth-test/busybox:latest")
DATA_ID = re.compile(r'data-id="([0-9a-f]{64})"')


def main() -> int:
    args = parse_args()
    docker_host = os.environ.get("DOCKER_HOST", "")
    if not docker_host:
        print(
            "DOCKER_HOST is not set. This benchmark creates and removes "
            f"{args.count} containers, so it only runs on an engine named explicitly; "
            "`make bench` uses the private test engine.",
            file=sys.stderr,
        )
        return 2
    if not docker_host.startswith("unix://"):
        print("The raw API client here speaks only to a unix:// socket.", file=sys.stderr)
        return 2
    docker_cli = shutil.which(args.docker)
    if docker_cli is None:
        print(f"No docker CLI found as {args.docker!r}.", file=sys.stderr)
        return 2

    # SIGTERM takes the same way out as Ctrl-C, so the containers are removed either way.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        api = docker.APIClient(base_url=docker_host, version="auto", timeout=120)
    except docker.errors.DockerException as e:
        print(f"No engine answers at {docker_host}: {e}", file=sys.stderr)
        return 1
    run = secrets.token_hex(3)
    made: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="berth-bench-") as tmp:
            print(f"engine {docker_host} (API {api.api_version}), run {run}", flush=True)
            started = time.monotonic()
            create_containers(api, run=run, count=args.count, made=made)
            print(f"created {len(made)} containers in {time.monotonic() - started:.1f} s")
            with berth_server(Path(tmp), docker_host=docker_host) as berth:
                return measure(args, berth, docker_cli, docker_host, set(made))
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except (RuntimeError, OSError, docker.errors.DockerException, subprocess.SubprocessError) as e:
        print(f"bench failed: {e}", file=sys.stderr)
        return 1
    finally:
        remove_containers(api, run=run, made=made)
        api.close()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="containers to create")
    parser.add_argument("--runs", type=int, default=31, help="timed runs of each (median)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs of each first")
    parser.add_argument("--docker", default="docker", help="the docker CLI to time")
    args = parser.parse_args()
    if args.count < 1 or args.runs < 2:
        parser.error("--count must be at least 1 and --runs at least 2")
    return args


# --- the containers -------------------------------------------------------------------------


def create_containers(api: docker.APIClient, *, run: str, count: int, made: list[str]) -> None:
    api.inspect_image(IMAGE)  # fails early, and clearly, when the test image is missing

    def one(i: int) -> str:
        created = api.create_container(
            IMAGE,
            command=["sleep", "3600"],
            name=f"{PREFIX}{run}-{i:04d}",
            labels={LABEL: "1", RUN_LABEL: run},
        )
        made.append(created["Id"])  # list.append is atomic; the list is the cleanup record
        return created["Id"]

    pool = ThreadPoolExecutor(max_workers=8)
    try:
        for done, _ in enumerate(pool.map(one, range(count)), 1):
            if done % 250 == 0:
                print(f"  {done}/{count}", flush=True)
    finally:
        # On Ctrl-C, creates not yet begun are dropped; those under way finish and are recorded.
        pool.shutdown(wait=True, cancel_futures=True)


def remove_containers(api: docker.APIClient, *, run: str, made: list[str]) -> None:
    """Removes this run's containers: the recorded ones and any a Ctrl-C left unrecorded.
    A second Ctrl-C is ignored meanwhile, so no container is left behind."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with contextlib.suppress(docker.errors.DockerException):
            found = api.containers(all=True, filters={"label": f"{RUN_LABEL}={run}"}, quiet=True)
            made = list(dict.fromkeys([*made, *(c["Id"] for c in found)]))
        if not made:
            return
        print(f"removing {len(made)} containers", flush=True)

        def one(container_id: str) -> str | None:
            try:
                api.remove_container(container_id, force=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.DockerException as error:
                return f"{container_id[:12]}: {error}"
            return None

        with ThreadPoolExecutor(max_workers=8) as pool:
            failures = [f for f in pool.map(one, made) if f]
        for failure in failures:
            print(f"could not remove {failure}", file=sys.stderr)
        if failures:
            print(
                f"remove them with: docker rm -f $(docker ps -aq --filter label={RUN_LABEL}={run})",
                file=sys.stderr,
            )
    finally:
        signal.signal(signal.SIGINT, previous)


# --- Berth, served by daphne -----------------------------------------------------------------


class Berth:
    """A signed-in keep-alive HTTP client of a daphne serving Berth."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, bytes]:
        headers = {"Host": f"127.0.0.1:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def berth_server(tmp: Path, *, docker_host: str) -> Iterator[Berth]:
    """daphne serving Berth on a free port, with a throwaway data folder and a staff user."""
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
        server = subprocess.Popen(
            [str(daphne), "-b", "127.0.0.1", "-p", str(port), "dashboard.asgi:application"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_listening(port, server, log_path)
        berth = Berth(port)
        berth.sign_in(username, password)
        yield berth
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


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


# --- the engine's own socket -----------------------------------------------------------------


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=120)
        self.socket_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


# --- measuring -------------------------------------------------------------------------------


def measure(
    args: argparse.Namespace, berth: Berth, docker_cli: str, docker_host: str, made: set[str]
) -> int:
    raw_conn = UnixHTTPConnection(docker_host.removeprefix("unix://"))
    cli_env = dict(os.environ, DOCKER_HOST=docker_host)
    last: dict[str, bytes] = {}  # the latest body of each, to check and to size

    def berth_list() -> None:
        status, body = berth.request("GET", "/containers/?all=1")
        if status != 200:
            raise RuntimeError(f"Berth answered {status}")
        last["berth"] = body

    def cli_list() -> None:
        subprocess.run(
            [docker_cli, "ps", "-a", "--no-trunc"],
            env=cli_env,
            stdout=subprocess.DEVNULL,
            check=True,
        )

    def raw_list() -> None:
        raw_conn.request("GET", "/containers/json?all=1")
        response = raw_conn.getresponse()
        last["raw"] = response.read()
        if response.status != 200:
            raise RuntimeError(f"the engine answered {response.status}")

    subjects: dict[str, Callable[[], None]] = {
        "berth": berth_list,
        "cli": cli_list,
        "raw": raw_list,
    }
    for _ in range(max(args.warmup, 1)):  # at least one, to check the page before timing
        for call in subjects.values():
            call()
    check_rows(last["berth"].decode(), made)

    # Interleaved, so the machine's noise falls on all three alike.
    times: dict[str, list[float]] = {name: [] for name in subjects}
    for _ in range(args.runs):
        for name, call in subjects.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    check_rows(last["berth"].decode(), made)
    raw_conn.close()

    medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
    for name, values in times.items():
        ms = sorted(v * 1000 for v in values)
        q1, _, q3 = statistics.quantiles(ms, n=4)
        print(
            f"  {name:5}  median {medians[name]:7.1f} ms  min {ms[0]:7.1f}  "
            f"p25 {q1:7.1f}  p75 {q3:7.1f}  max {ms[-1]:7.1f}"
        )
    print(
        f"{args.runs} runs each after {args.warmup} warm-up; Berth page "
        f"{len(last['berth']) // 1024} KiB, engine JSON {len(last['raw']) // 1024} KiB"
    )
    print(
        f"berth {medians['berth']:.0f} ms, docker ps -a --no-trunc {medians['cli']:.0f} ms, "
        f"raw API {medians['raw']:.0f} ms; berth/cli {medians['berth'] / medians['cli']:.2f}x; "
        f"cli/raw {medians['cli'] / medians['raw']:.2f}x"
    )
    return 0


def check_rows(page: str, made: set[str]) -> None:
    """The page must show every benchmark container, each once."""
    shown = [i for i in DATA_ID.findall(page) if i in made]
    if len(shown) != len(made) or set(shown) != made:
        raise RuntimeError(f"Berth showed {len(shown)} rows of the {len(made)} containers made")


if __name__ == "__main__":
    sys.exit(main())
