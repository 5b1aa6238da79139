"""Benchmark: 16 exec terminals opened through Berth at once, against the same engine calls
made by 16 raw clients in parallel.

Never run as a test. On the engine DOCKER_HOST names it starts 16 containers, serves Berth
with daphne on 127.0.0.1, and times rounds of, interleaved:
  berth   16 websockets opened at once on ws/containers/<id>/exec/ (one per container), each
          until the exec's first output; Berth makes the engine calls (inspect, exec create,
          exec start, resize) through streams/executor.engine_call
  raw     16 threads at once making those calls on the engine's socket, each until the
          exec's first output
and prints the median time for all 16 to be answered, and the ratio. See bench/README.md.
"""

import argparse
import json
import random
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from harness import (
    BerthServer,
    BlockingWebSocket,
    Run,
    UnixHTTPConnection,
    berth_server,
    describe,
    engine_request,
    median,
    open_hijacked,
    percentile,
    run_bench,
)

SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 86400 & wait"]
# What each exec runs: it answers at once and ends.
COMMAND = ["echo", "ready"]
TARGET_RATIO = 1.2


def main() -> int:
    args = parse_args()
    return run_bench(f"creates {args.clients} containers", lambda run: bench(args, run))


def bench(args: argparse.Namespace, run: Run) -> int:
    made = [run.containers.create(f"{i:02d}", SLEEPER) for i in range(args.clients)]
    with berth_server(run.tmp, docker_host=run.docker_host) as berth:
        print(f"berth: {berth}", flush=True)
        return measure(args, run.api, run.socket_path, berth, made)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16, help="terminals opened at once")
    parser.add_argument("--rounds", type=int, default=31, help="timed rounds of each (median)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds of each first")
    args = parser.parse_args()
    if args.clients < 1 or args.rounds < 3:
        parser.error("--clients must be at least 1 and --rounds at least 3")
    return args


# --- one client of each kind -----------------------------------------------------------------


class Raw:
    """What `docker exec -it` asks the engine, as Berth's exec consumer does: inspect the
    container, create the exec, start it with Upgrade: tcp, size its terminal."""

    def __init__(self, socket_path: str, version: str) -> None:
        self.socket_path = socket_path
        self.version = version
        self.local = threading.local()

    def conn(self) -> UnixHTTPConnection:
        if not hasattr(self.local, "conn"):
            self.local.conn = UnixHTTPConnection(self.socket_path)
        return self.local.conn

    def open(self, container_id: str) -> None:
        v = self.version
        status, body = engine_request(self.conn(), "GET", f"/v{v}/containers/{container_id}/json")
        if status != 200:
            raise RuntimeError(f"inspect answered {status}")
        exec_body = {
            "AttachStdin": True,
            "AttachStdout": True,
            "AttachStderr": True,
            "Tty": True,
            "Cmd": COMMAND,
            "Env": ["TERM=xterm-256color"],
        }
        status, body = engine_request(
            self.conn(), "POST", f"/v{v}/containers/{container_id}/exec", exec_body
        )
        if status != 201:
            raise RuntimeError(f"exec create answered {status}: {body[:200]!r}")
        exec_id = json.loads(body)["Id"]
        sock = open_hijacked(
            self.socket_path, f"/v{v}/exec/{exec_id}/start", {"Detach": False, "Tty": True}
        )
        try:
            engine_request(self.conn(), "POST", f"/v{v}/exec/{exec_id}/resize?h=24&w=80")
            seen = b""
            while b"ready" not in seen:
                data = sock.recv(65536)
                if not data:
                    raise RuntimeError("the exec ended before its output")
                seen += data
        finally:
            sock.close()


class Berth:
    """A browser's exec terminal: the websocket, until the exec's first output."""

    def __init__(self, berth: BerthServer) -> None:
        self.berth = berth

    def url(self, container_id: str) -> str:
        """The terminal's address, with a ticket as the exec page issues it."""
        return self.berth.ws_url(
            f"/ws/containers/{container_id}/exec/",
            ticket=self.berth.ticket(container_id, list(COMMAND)),
            cols="80",
            rows="24",
        )

    def open(self, url: str) -> "BlockingWebSocket":
        ws = BlockingWebSocket(url, self.berth.headers())
        ws.accepted = time.perf_counter()
        ws.settimeout(60)
        seen = b""
        while b"ready" not in seen:
            message = ws.recv()
            if isinstance(message, bytes):
                seen += message
            elif "error" in message:
                raise RuntimeError(f"Berth's terminal failed: {message}")
        return ws


def finish(ws: "BlockingWebSocket") -> None:
    """Reads to the exec's end, as the page does, and closes: Berth's last engine calls
    (the exit code) happen here, between rounds."""
    try:
        while True:
            message = ws.recv()
            if isinstance(message, str) and "exit" in message:
                break
    except (ConnectionError, OSError):
        pass
    finally:
        ws.close()


# --- measuring -------------------------------------------------------------------------------


def round_of(
    pool: ThreadPoolExecutor, opens: list[Callable[[], object]]
) -> tuple[float, list, float]:
    """Starts every open at once; returns the time until the last was answered, each one's
    time and what it returned, and when they started."""
    go = threading.Event()

    def one(open_one: Callable[[], object]) -> tuple[float, object]:
        go.wait()
        result = open_one()
        return time.perf_counter(), result

    futures = [pool.submit(one, o) for o in opens]
    time.sleep(0.05)  # every thread waiting on `go`
    start = time.perf_counter()
    go.set()
    done = [f.result() for f in futures]
    answered = [t - start for t, _ in done]
    return max(answered), [(a, r) for a, (_, r) in zip(answered, done, strict=True)], start


def measure(args, api, socket_path: str, berth: BerthServer, made: list[str]) -> int:
    raw = Raw(socket_path, api.api_version)
    ours = Berth(berth)
    pool = ThreadPoolExecutor(max_workers=len(made))
    walls: dict[str, list[float]] = {"raw": [], "berth": []}
    each: dict[str, list[float]] = {"raw": [], "berth": []}
    accepted: list[float] = []
    try:
        for index in range(args.warmup + args.rounds):
            order = ["raw", "berth"]
            random.shuffle(order)  # interleaved, in either order, so noise falls on both alike
            for name in order:
                if name == "raw":
                    wall, results, _ = round_of(pool, [lambda c=c: raw.open(c) for c in made])
                else:
                    urls = [ours.url(c) for c in made]
                    opens = [lambda u=u: ours.open(u) for u in urls]
                    wall, results, start = round_of(pool, opens)
                    if index >= args.warmup:
                        accepted.extend(ws.accepted - start for _, ws in results)
                    list(pool.map(finish, [ws for _, ws in results]))
                if index >= args.warmup:
                    walls[name].append(wall)
                    each[name].extend(a for a, _ in results)
                time.sleep(0.3)  # the execs of the round end; the engine settles
    finally:
        pool.shutdown(wait=True)
    n = len(made)
    print(f"all {n} answered (one sample a round):")
    for name in ("raw", "berth"):
        print(describe(name, walls[name]))
    print(f"each client's answer ({n} a round, pooled):")
    for name in ("raw", "berth"):
        print(describe(name, each[name]))
    print(describe("berth websocket accepted (after the container's inspect)", accepted, 0))
    medians = {name: median(values) * 1000 for name, values in walls.items()}
    ratio = medians["berth"] / medians["raw"]
    p95 = {name: percentile(values, 95) * 1000 for name, values in walls.items()}
    verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
    print(
        f"{args.rounds} rounds each (after {args.warmup} warm-up), interleaved; engine calls "
        f"per client: container inspect, exec create, exec start (hijacked), exec resize"
    )
    print(
        f"{n} parallel exec opens: berth median {medians['berth']:.0f} ms, raw median "
        f"{medians['raw']:.0f} ms: berth/raw {ratio:.2f}x (target <= {TARGET_RATIO}x: "
        f"{verdict}); p95 berth {p95['berth']:.0f} ms, raw {p95['raw']:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
