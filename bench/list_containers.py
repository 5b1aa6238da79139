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
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from harness import (
    BerthServer,
    Containers,
    Run,
    UnixHTTPConnection,
    berth_server,
    docker_cli,
    run_bench,
)

DATA_ID = re.compile(r'data-id="([0-9a-f]{64})"')


def main() -> int:
    args = parse_args()
    cli = docker_cli(args.docker)
    if cli is None:
        return 2
    return run_bench(
        f"creates and removes {args.count} containers",
        lambda run: bench(args, run, cli),
        suggestion="; `make bench` uses the private test engine",
    )


def bench(args: argparse.Namespace, run: Run, cli: str) -> int:
    if args.team:
        run.containers.labels = {"berth.team": args.team}
    started = time.monotonic()
    create_containers(run.containers, args.count)
    made = set(run.containers.made)
    print(f"created {len(made)} containers in {time.monotonic() - started:.1f} s")
    with berth_server(run.tmp, docker_host=run.docker_host, team=args.team) as berth:
        return measure(args, berth, cli, run.docker_host, made)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="containers to create")
    parser.add_argument("--runs", type=int, default=31, help="timed runs of each (median)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs of each first")
    parser.add_argument("--docker", default="docker", help="the docker CLI to time")
    parser.add_argument(
        "--team",
        default="",
        help="sign in as an admin of this team, whose label the containers carry, instead of "
        "a superuser (each row then goes through the team's access rules)",
    )
    args = parser.parse_args()
    if args.count < 1 or args.runs < 2:
        parser.error("--count must be at least 1 and --runs at least 2")
    return args


def create_containers(containers: Containers, count: int) -> None:
    """`count` containers, created and not started, eight at a time."""

    def one(i: int) -> str:
        return containers.create(f"{i:04d}", ["sleep", "3600"], start=False)

    pool = ThreadPoolExecutor(max_workers=8)
    try:
        for done, _ in enumerate(pool.map(one, range(count)), 1):
            if done % 250 == 0:
                print(f"  {done}/{count}", flush=True)
    finally:
        # On Ctrl-C, creates not yet begun are dropped; those under way finish and are recorded.
        pool.shutdown(wait=True, cancel_futures=True)


# --- measuring -------------------------------------------------------------------------------


def measure(
    args: argparse.Namespace, berth: BerthServer, cli: str, docker_host: str, made: set[str]
) -> int:
    raw_conn = UnixHTTPConnection(docker_host.removeprefix("unix://"))
    cli_env = dict(os.environ, DOCKER_HOST=docker_host)
    last: dict[str, bytes] = {}  # the latest body of each, to check and to size

    def berth_list() -> None:
        status, body = berth.client.request("GET", "/containers/?all=1")
        if status != 200:
            raise RuntimeError(f"Berth answered {status}")
        last["berth"] = body

    def cli_list() -> None:
        subprocess.run(
            [cli, "ps", "-a", "--no-trunc"],
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
