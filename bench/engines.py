"""Benchmark: the All engines containers page against `docker ps -a` on three engines at once.

Never run as a test. The three engines: the one DOCKER_HOST names (a unix socket), and the TCP
+ TLS and SSH engines of scripts/test-remote-engines (its `env` read from BERTH_TEST_*). It
creates COUNT containers (created, not started) on each, serves Berth with daphne with the two
remote engines registered, and times, interleaved:
  berth   GET /engines/all/containers/, signed in, whole response, keep-alive connection
  cli     `docker ps -a --no-trunc` against the three engines, three processes at once
          (TLS with --tlsverify and the client certificate; SSH through the system ssh, given
          the same key and pinned host key as Berth)
Then, with a fourth engine registered that accepts connections and never answers:
  local   GET /engines/local/containers/ (one engine's page), before and with it
  all     GET /engines/all/containers/ (bounded by BERTH_ENGINE_PAGE_TIMEOUT)
and removes the containers (also on Ctrl-C or an error).
"""

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

from harness import (
    ROOT,
    BerthServer,
    Containers,
    Run,
    berth_server,
    docker_cli,
    engine_client,
    run_bench,
    venv_python,
)

PAGE_TIMEOUT = 2  # BERTH_ENGINE_PAGE_TIMEOUT for the server: the black hole's wait


def remote(name: str) -> str:
    value = os.environ.get(f"BERTH_TEST_{name}")
    if not value:
        raise RuntimeError(
            f'BERTH_TEST_{name} is not set: eval "$(scripts/test-remote-engines env)" first'
        )
    return value


def main() -> int:
    args = parse_args()
    cli = docker_cli(args.docker)
    if cli is None:
        return 2
    return run_bench(
        f"creates and removes {args.count} containers on each of three engines",
        lambda run: bench(args, run, cli),
        suggestion="; `make bench-engines` starts the three private engines",
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="containers on each engine")
    parser.add_argument("--runs", type=int, default=21, help="timed runs of each (median)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs of each first")
    parser.add_argument("--docker", default="docker", help="the docker CLI to time")
    args = parser.parse_args()
    if args.count < 1 or args.runs < 2:
        parser.error("--count must be at least 1 and --runs at least 2")
    return args


def bench(args: argparse.Namespace, run: Run, cli: str) -> int:
    sockets = {"tls": remote("TLS_SOCKET"), "ssh": remote("SSH_SOCKET")}
    clients = {name: engine_client(address) for name, address in sockets.items()}
    made = [run.containers] + [Containers(api) for api in clients.values() if api]
    try:
        started = time.monotonic()
        for containers in made:
            create_containers(containers, args.count)
        print(f"created {args.count} containers on each of 3 engines in "
              f"{time.monotonic() - started:.1f} s")  # fmt: skip
        os.environ["BERTH_ENGINE_PAGE_TIMEOUT"] = str(PAGE_TIMEOUT)
        with (
            tempfile.TemporaryDirectory(prefix="berth-bench-ssh-") as ssh_dir,
            berth_server(run.tmp, docker_host=run.docker_host, before=register) as berth,
            black_hole() as hole,
        ):
            commands = cli_commands(cli, run.docker_host, Path(ssh_dir))
            return measure(args, berth, commands, hole, expected=3 * args.count)
    finally:
        for containers in made[1:]:
            containers.remove_all()
            containers.api.close()


def create_containers(containers: Containers, count: int) -> None:
    def one(i: int) -> str:
        return containers.create(f"{i:04d}", ["sleep", "3600"], start=False)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(count)))


def register(env: dict) -> None:
    """The TLS and SSH engines, registered for every team before daphne starts."""
    folder = Path(remote("TLS_DIR"))
    key = remote("SSH_KEY")
    manage(env, "engines", "add", "tls", remote("TLS_HOST"), "--every-team",
           "--tls-ca", str(folder / "ca.pem"), "--tls-cert", str(folder / "cert.pem"),
           "--tls-key", str(folder / "key.pem"))  # fmt: skip
    manage(env, "engines", "add", "ssh", remote("SSH_HOST"), "--every-team",
           "--ssh-key", key, "--ssh-host-key", remote("SSH_HOST_KEY"))  # fmt: skip


def manage(env: dict, *words: str) -> None:
    subprocess.run(
        [str(venv_python()), str(ROOT / "manage.py"), *words],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def cli_commands(cli: str, docker_host: str, ssh_dir: Path) -> list[tuple[list[str], dict]]:
    """`docker ps -a` against each engine, as a person would type it, with its environment."""
    folder = Path(remote("TLS_DIR"))
    tls = [
        cli, "-H", remote("TLS_HOST"), "--tlsverify",
        "--tlscacert", str(folder / "ca.pem"), "--tlscert", str(folder / "cert.pem"),
        "--tlskey", str(folder / "key.pem"), "ps", "-a", "--no-trunc",
    ]  # fmt: skip
    # The docker CLI runs `ssh` from PATH: one that reads a config of the bench's own.
    known = Path(remote("SSH_KEY")).parent / "known_hosts"
    (ssh_dir / "config").write_text(
        f"IdentityFile {remote('SSH_KEY')}\nIdentitiesOnly yes\nUserKnownHostsFile {known}\n"
        "StrictHostKeyChecking yes\nBatchMode yes\n"
    )
    wrapper = ssh_dir / "ssh"
    wrapper.write_text(f'#!/bin/sh\nexec /usr/bin/ssh -F {ssh_dir / "config"} "$@"\n')
    wrapper.chmod(0o700)
    plain = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    ssh_env = dict(plain, PATH=f"{ssh_dir}:{os.environ['PATH']}")
    return [
        ([cli, "-H", docker_host, "ps", "-a", "--no-trunc"], plain),
        (tls, plain),
        ([cli, "-H", remote("SSH_HOST"), "ps", "-a", "--no-trunc"], ssh_env),
    ]


@contextlib.contextmanager
def black_hole():
    """A TCP port on 127.0.0.1 that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


def measure(args, berth: BerthServer, commands, hole: str, *, expected: int) -> int:
    last: dict[str, bytes] = {}

    def page(path: str) -> Callable[[], None]:
        def get() -> None:
            status, body = berth.client.request("GET", path)
            if status != 200:
                raise RuntimeError(f"Berth answered {status} for {path}")
            last[path] = body

        return get

    def cli_all() -> None:
        processes = [
            subprocess.Popen(words, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            for words, env in commands
        ]
        for process in processes:
            _, error = process.communicate()
            if process.returncode:
                raise RuntimeError(f"docker ps failed: {error.decode()[-500:]}")

    all_page, local_page = page("/engines/all/containers/"), page("/engines/local/containers/")
    first = timed(args, {"berth": all_page, "cli": cli_all, "local": local_page})
    rows = last["/engines/all/containers/"].count(b'data-engine="')
    if rows < expected:
        raise RuntimeError(f"the All engines page showed {rows} rows, not {expected}")

    register_hole(berth, hole)
    second = timed(args, {"local": local_page, "all": all_page})

    ratio = first["berth"] / first["cli"]
    print(
        f"All engines page {first['berth']:.0f} ms, docker ps -a on the three at once "
        f"{first['cli']:.0f} ms: {ratio:.2f}x (target 1.2x)"
    )
    print(
        f"with a black-holed engine: one engine's page {second['local']:.0f} ms against "
        f"{first['local']:.0f} ms ({second['local'] / first['local']:.2f}x, target 1.2x); "
        f"All engines page {second['all']:.0f} ms (target {PAGE_TIMEOUT * 1000} ms + "
        f"1.2x {first['berth']:.0f} ms = {PAGE_TIMEOUT * 1000 + 1.2 * first['berth']:.0f} ms)"
    )
    return 0


def register_hole(berth: BerthServer, hole: str) -> None:
    """The black hole as a TLS engine (its handshake never answers), through the engines
    page's form, as a superuser would add it."""
    folder = Path(remote("TLS_DIR"))
    status, page = berth.client.request("GET", "/engines/")
    token = page.split(b'name="csrfmiddlewaretoken" value="', 1)[1].split(b'"', 1)[0].decode()
    body = urlencode(
        {
            "csrfmiddlewaretoken": token,
            "slug": "hole",
            "address": hole,
            "every_team": "on",
            "tls_ca": (folder / "ca.pem").read_text(),
            "tls_cert": (folder / "cert.pem").read_text(),
            "tls_key": (folder / "key.pem").read_text(),
        }
    )
    status, _ = berth.client.request("POST", "/engines/", body)
    if status != 302:
        raise RuntimeError(f"adding the black-holed engine answered {status}")


def timed(args, subjects: dict[str, Callable[[], None]]) -> dict[str, float]:
    """Median milliseconds of each, interleaved so the machine's noise falls on all alike."""
    for _ in range(args.warmup):
        for call in subjects.values():
            call()
    times: dict[str, list[float]] = {name: [] for name in subjects}
    for _ in range(args.runs):
        for name, call in subjects.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
    for name, values in times.items():
        ms = sorted(v * 1000 for v in values)
        print(f"  {name:6} median {medians[name]:7.1f} ms  min {ms[0]:7.1f}  max {ms[-1]:7.1f}")
    return medians


if __name__ == "__main__":
    sys.exit(main())
