"""Benchmark: replaying a long container log through Berth against `docker logs` and the raw API.

Never run as a test. On the engine that DOCKER_HOST names it makes two containers (non-TTY and
TTY) that each write LINES numbered lines of about 100 bytes and exit, serves Berth with
daphne on 127.0.0.1, and times, interleaved, for each container:
  berth   a websocket on ws/containers/<id>/logs/?tail=all (not followed, so it ends), with
          the session cookie and an Origin header, acknowledging every frame as the page does,
          until the "ended" notice; every line must arrive, once and in order
  cli     `docker logs <id>`, the whole process, output to /dev/null
  raw     GET /containers/<id>/logs?stdout=1&stderr=1&timestamps=1 (what Berth asks for) on
          the engine's socket, HTTP/1.0, the whole body read in 256 KiB blocks
then removes the containers (also on Ctrl-C or an error). See bench/README.md.
"""

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

from harness import (
    PAD,
    BerthServer,
    Containers,
    Cpu,
    Run,
    berth_server,
    docker_cli,
    line_number,
    log_frame,
    run_bench,
)
from websockets.asyncio.client import connect


def main() -> int:
    args = parse_args()
    cli = docker_cli(args.docker)
    if cli is None:
        return 2
    return run_bench(
        "creates two containers with 50 MB logs", lambda run: bench(args, run, cli), timeout=300
    )


def bench(args: argparse.Namespace, run: Run, cli: str) -> int:
    logs = {
        variant: make_log(run.containers, tty=tty, lines=args.lines)
        for variant, tty in (("non-TTY", False), ("TTY", True))
    }
    with berth_server(run.tmp, docker_host=run.docker_host) as berth:
        return measure(args, berth, cli, run.docker_host, run.api.api_version, logs)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=500_000, help="lines each container writes")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each (median)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs of each first")
    parser.add_argument("--docker", default="docker", help="the docker CLI to time")
    args = parser.parse_args()
    if args.lines < 1 or args.lines > 9_999_999 or args.runs < 1:
        parser.error("--lines must be 1 to 9999999 and --runs at least 1")
    return args


def make_log(containers: Containers, *, tty: bool, lines: int) -> str:
    """A container that has written `lines` numbered lines and exited."""
    program = f'BEGIN {{ for (i = 1; i <= {lines}; i++) printf "%08d %s\\n", i, pad }}'
    container_id = containers.create(
        "tty" if tty else "plain", ["awk", "-v", f"pad={PAD}", program], start=False, tty=tty
    )
    started = time.monotonic()
    containers.api.start(container_id)
    status = containers.api.wait(container_id, timeout=600)["StatusCode"]
    if status != 0:
        raise RuntimeError(f"the log writer exited with {status}")
    kind = "TTY" if tty else "non-TTY"
    print(f"{kind} container wrote {lines} lines in {time.monotonic() - started:.1f} s", flush=True)
    return container_id


# --- the three readers -----------------------------------------------------------------------


def cli_logs(cli: str, docker_host: str, container_id: str) -> None:
    subprocess.run(
        [cli, "logs", container_id],
        env={"DOCKER_HOST": docker_host, "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )


def cli_bytes(cli: str, docker_host: str, container_id: str) -> int:
    """What `docker logs` prints (stdout and stderr), counted once, untimed."""
    done = subprocess.run(
        [cli, "logs", container_id],
        env={"DOCKER_HOST": docker_host, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        check=True,
    )
    return len(done.stdout) + len(done.stderr)


def raw_logs(socket_path: str, version: str, container_id: str) -> int:
    """The engine's answer to what Berth asks for; returns the body's size."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(300)
        sock.connect(socket_path)
        query = "stdout=1&stderr=1&timestamps=1&tail=all"
        path = f"/v{version}/containers/{container_id}/logs?{query}"
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n".encode())
        size = 0
        head = b""
        while data := sock.recv(256 * 1024):
            if head is not None:
                head += data
                if b"\r\n\r\n" not in head:
                    continue
                status_line = head.partition(b"\r\n")[0]
                if b" 200 " not in status_line:
                    raise RuntimeError(f"the engine answered {status_line!r}")
                data, head = head.partition(b"\r\n\r\n")[2], None
            size += len(data)
        return size


async def berth_logs(berth: BerthServer, container_id: str, expected: int) -> int:
    """Reads the whole log over Berth's websocket as the page would; returns the lines."""
    url = berth.ws_url(f"/ws/containers/{container_id}/logs/?tail=all")
    count, number = 0, 0
    async with connect(
        url, additional_headers=berth.headers(), compression=None, max_size=None
    ) as ws:
        async for message in ws:
            data, lines = log_frame(message)
            if "blocks" in data:
                await ws.send('{"ack":1}')
                # Lines are numbered: the first and last of each frame show one lost or
                # repeated anywhere.
                first, last = line_number(lines[0]), line_number(lines[-1])
                if first != number + 1 or last - first != len(lines) - 1 or "skipped" in data:
                    raise RuntimeError(f"after line {number}, a frame of lines {first}-{last}")
                number = last
                count += len(lines)
            elif data.get("state") == "ended":
                if data.get("error"):
                    raise RuntimeError(f"Berth refused: {data['error']}")
                break
    if count != expected:
        raise RuntimeError(f"Berth sent {count} lines of {expected}")
    return count


# --- measuring -------------------------------------------------------------------------------


def measure(
    args: argparse.Namespace,
    berth: BerthServer,
    cli: str,
    docker_host: str,
    version: str,
    containers: dict[str, str],
) -> int:
    socket_path = docker_host.removeprefix("unix://")
    sizes = {v: cli_bytes(cli, docker_host, c) for v, c in containers.items()}
    subjects: dict[tuple[str, str], Callable[[], object]] = {}
    for variant, container_id in containers.items():
        subjects[(variant, "berth")] = lambda c=container_id: asyncio.run(
            berth_logs(berth, c, args.lines)
        )
        subjects[(variant, "cli")] = lambda c=container_id: cli_logs(cli, docker_host, c)
        subjects[(variant, "raw")] = lambda c=container_id: raw_logs(socket_path, version, c)

    for _ in range(max(args.warmup, 1)):  # at least one, to check Berth's lines before timing
        for call in subjects.values():
            call()
    # Interleaved, so the machine's noise falls on all of them alike.
    times: dict[tuple[str, str], list[float]] = {key: [] for key in subjects}
    server_cpu: dict[str, list[Cpu]] = {variant: [] for variant in containers}
    for round_ in range(args.runs):
        for key, call in subjects.items():
            cpu = berth.cpu()
            start = time.perf_counter()
            call()
            times[key].append(time.perf_counter() - start)
            if key[1] == "berth":
                server_cpu[key[0]].append(berth.cpu() - cpu)
        print(f"  round {round_ + 1}/{args.runs} done", flush=True)

    medians = {key: statistics.median(values) for key, values in times.items()}
    for (variant, name), values in times.items():
        median = medians[(variant, name)]
        print(
            f"  {variant:7} {name:5}  median {median:6.2f} s  min {min(values):6.2f}  "
            f"max {max(values):6.2f}  {args.lines / median / 1000:6.0f}k lines/s  "
            f"{sizes[variant] / median / 1e6:5.1f} MB/s"
        )
    print(
        f"{args.runs} runs each after {args.warmup} warm-up, interleaved; "
        f"{args.lines} lines, docker logs prints "
        + ", ".join(f"{sizes[v] / 1e6:.1f} MB ({v})" for v in containers)
    )
    for variant, cpus in server_cpu.items():
        ran = statistics.median(c.used for c in cpus)
        waited = statistics.median(c.loop_waited for c in cpus)
        print(
            f"  {variant:7} daphne per Berth read: median {ran:.2f} s on a CPU "
            f"({ran / args.lines * 1e6:.1f} us a line); its event loop waited {waited:.2f} s "
            "for one"
        )
    for variant in containers:
        berth, cli_s, raw_s = (medians[(variant, n)] for n in ("berth", "cli", "raw"))
        # Each round's own ratio too: the load of a shared machine drifts between rounds.
        paired = statistics.median(
            c / b for c, b in zip(times[(variant, "cli")], times[(variant, "berth")], strict=True)
        )
        print(
            f"{variant}: berth {args.lines / berth / 1000:.0f}k lines/s, docker logs "
            f"{args.lines / cli_s / 1000:.0f}k lines/s, raw API {args.lines / raw_s / 1000:.0f}k "
            f"lines/s; berth/cli {cli_s / berth:.2f}x (target 0.7x; median of rounds' ratios "
            f"{paired:.2f}x), berth/raw {raw_s / berth:.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
