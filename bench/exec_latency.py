"""Benchmark: a keystroke's echo through Berth's exec terminal against a raw exec socket.

Never run as a test. On the engine DOCKER_HOST names it starts a container to type into and a
container printing its log as fast as it can, serves Berth with daphne on 127.0.0.1, opens 20
idle Berth terminals and a websocket viewer following the flood's log through Berth (in a
second process, acknowledging frames as the page does), then times, interleaved:
  berth   one byte sent on ws/containers/<id>/exec/ to `cat` on a raw-mode TTY, until its echo
  raw     the same on an exec the script starts itself (POST /exec/<id>/start, Upgrade: tcp)
and prints the percentiles of both and Berth's added latency at p95. See bench/README.md.
"""

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import random
import sys
import time

import docker
from harness import (
    BerthServer,
    BlockingWebSocket,
    Cpu,
    Run,
    UnixHTTPConnection,
    berth_server,
    describe,
    engine_request,
    log_frame,
    open_hijacked,
    percentile,
    run_bench,
)

# The TTY in raw mode without echo: every byte typed comes back from cat, as a shell's line
# editor echoes it; "ready" says cat is reading.
CAT = ["sh", "-c", "stty raw -echo; echo ready; exec cat"]
SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 86400 & wait"]
FLOOD_LINE = "berth bench log flood " + "0123456789abcdef" * 4
TARGET_ADDED_P95_MS = 5.0


def main() -> int:
    args = parse_args()
    return run_bench(
        "creates containers, one of them flooding its log", lambda run: bench(args, run)
    )


def bench(args: argparse.Namespace, run: Run) -> int:
    target = run.containers.create("shell", SLEEPER)
    flood = None
    if args.flood:
        flood = run.containers.create(
            "flood",
            ["yes", FLOOD_LINE],
            # The flood writes tens of MB a second: keep the engine's log file small.
            log_config=docker.types.LogConfig(
                type="json-file", config={"max-size": "20m", "max-file": "2"}
            ),
        )
    with berth_server(run.tmp, docker_host=run.docker_host) as berth:
        print(f"berth: {berth}", flush=True)
        load = Load(berth, target, flood if args.viewer else None, args.idle)
        try:
            return measure(args, run.api, run.socket_path, berth, target, load)
        finally:
            load.stop()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=600, help="timed keystrokes of each")
    parser.add_argument("--warmup", type=int, default=30, help="untimed keystrokes of each first")
    parser.add_argument("--idle", type=int, default=20, help="idle Berth terminals kept open")
    parser.add_argument(
        "--flood",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the log flood and its viewer (--no-flood shows what they cost)",
    )
    parser.add_argument(
        "--viewer",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="follow the flood's log through Berth (--no-viewer: the engine floods, Berth idles)",
    )
    parser.add_argument(
        "--gap", type=float, default=0.01, help="seconds between keystrokes (up to twice that)"
    )
    args = parser.parse_args()
    if args.samples < 20:
        parser.error("--samples must be at least 20")
    return args


# --- the load: idle terminals and a log flood's viewer, in a process of their own -------------


class Load:
    """A second process holding the idle terminals and the flood's log viewer, so their work
    never delays the measuring process's reads."""

    def __init__(self, berth: BerthServer, target: str, flood: str | None, idle: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        exec_urls = [
            berth.ws_url(
                f"/ws/containers/{target}/exec/",
                ticket=berth.ticket(target, ["sh"]),
                cols="80",
                rows="24",
            )
            for _ in range(idle)
        ]
        logs_url = flood and berth.ws_url(f"/ws/containers/{flood}/logs/", tail="500", follow="1")
        self.process = context.Process(
            target=run_load, args=(child, berth.headers(), exec_urls, logs_url), daemon=True
        )
        self.process.start()
        if not self.conn.poll(60):
            raise RuntimeError("the load process did not get ready within 60 s")
        message = self.conn.recv()
        if message[0] != "ready":
            raise RuntimeError(f"the load process failed: {message[1]}")

    def report(self) -> dict:
        self.conn.send("report")
        if not self.conn.poll(30):
            raise RuntimeError("the load process did not report")
        return self.conn.recv()[1]

    def stop(self) -> None:
        if self.process.is_alive():
            with contextlib.suppress(OSError):
                self.conn.send("stop")
            self.process.join(10)
            if self.process.is_alive():
                self.process.terminate()
                self.process.join(5)


def run_load(conn, headers: dict, exec_urls: list[str], logs_url: str | None) -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_load(conn, headers, exec_urls, logs_url))


async def _load(conn, headers: dict, exec_urls: list[str], logs_url: str | None) -> None:
    from websockets.asyncio.client import connect

    stats = {"lines": 0, "frames": 0, "skipped": 0, "terminal_bytes": 0, "since": 0.0}

    async def terminal(url: str, ready: asyncio.Event) -> None:
        async with connect(url, additional_headers=headers, proxy=None, compression=None) as ws:
            async for message in ws:
                if isinstance(message, bytes):
                    stats["terminal_bytes"] += len(message)
                    ready.set()
                    await ws.send(json.dumps({"ack": len(message)}))

    async def viewer(ready: asyncio.Event) -> None:
        async with connect(
            logs_url, additional_headers=headers, proxy=None, compression=None, max_size=None
        ) as ws:
            async for message in ws:
                data, lines = log_frame(message)
                if "blocks" in data:
                    stats["lines"] += len(lines)
                    stats["frames"] += 1
                    stats["skipped"] += data.get("skipped", 0)
                    ready.set()
                    await ws.send('{"ack":1}')

    readies = [asyncio.Event() for _ in exec_urls]
    tasks = [asyncio.create_task(terminal(u, r)) for u, r in zip(exec_urls, readies, strict=True)]
    if logs_url:
        readies.append(asyncio.Event())
        tasks.append(asyncio.create_task(viewer(readies[-1])))
    try:
        waiting = asyncio.gather(*(r.wait() for r in readies))
        done, _ = await asyncio.wait([waiting, *tasks], timeout=45, return_when="FIRST_COMPLETED")
        if waiting not in done:
            failed = [t for t in tasks if t.done()]
            reason = repr(failed[0].exception()) if failed else "timed out"
            conn.send(("failed", reason))
            return
        stats.update(lines=0, frames=0, skipped=0, since=time.monotonic())
        conn.send(("ready", None))
        loop = asyncio.get_running_loop()
        while True:
            request = await loop.run_in_executor(None, conn.recv)
            if request == "report":
                broken = [repr(t.exception()) for t in tasks if t.done()]
                conn.send(("report", {**stats, "now": time.monotonic(), "broken": broken}))
            else:
                break
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


# --- the two terminals timed -----------------------------------------------------------------


class RawTerminal:
    """An exec of CAT started on the engine's socket by the script itself."""

    def __init__(self, socket_path: str, version: str, container_id: str) -> None:
        conn = UnixHTTPConnection(socket_path)
        body = {
            "AttachStdin": True,
            "AttachStdout": True,
            "AttachStderr": True,
            "Tty": True,
            "Cmd": CAT,
            "Env": ["TERM=xterm-256color"],
        }
        status, answer = engine_request(
            conn, "POST", f"/v{version}/containers/{container_id}/exec", body
        )
        conn.close()
        if status != 201:
            raise RuntimeError(f"exec create answered {status}: {answer[:200]!r}")
        exec_id = json.loads(answer)["Id"]
        self.sock = open_hijacked(
            socket_path, f"/v{version}/exec/{exec_id}/start", {"Detach": False, "Tty": True}
        )
        self.sock.sock.setblocking(True)
        self.sock.settimeout(30)
        seen = b""
        while b"ready" not in seen:
            seen += self.sock.recv(65536)

    def echo(self, byte: bytes) -> float:
        start = time.perf_counter()
        self.sock.sendall(byte)
        while byte not in self.sock.recv(65536):
            pass
        return time.perf_counter() - start

    def close(self) -> None:
        self.sock.close()


class BerthTerminal:
    """A Berth exec websocket running CAT, acknowledging output as terminal.js does."""

    def __init__(self, berth: BerthServer, container_id: str) -> None:
        url = berth.ws_url(
            f"/ws/containers/{container_id}/exec/",
            ticket=berth.ticket(container_id, list(CAT)),
            cols="80",
            rows="24",
        )
        self.ws = BlockingWebSocket(url, berth.headers())
        self.ws.settimeout(30)
        seen = b""
        while b"ready" not in seen:
            message = self.ws.recv()
            if isinstance(message, bytes):
                seen += message
                self.ws.send_text(json.dumps({"ack": len(message)}))
            elif "error" in message:
                raise RuntimeError(f"Berth's terminal failed: {message}")

    def echo(self, byte: bytes) -> float:
        start = time.perf_counter()
        self.ws.send_bytes(byte)
        got = b""
        while True:
            message = self.ws.recv()
            if isinstance(message, bytes):
                got += message
                if byte in message:
                    break
        elapsed = time.perf_counter() - start
        self.ws.send_text(json.dumps({"ack": len(got)}))
        return elapsed

    def close(self) -> None:
        self.ws.close()


def measure(args, api, socket_path: str, berth: BerthServer, target: str, load: Load) -> int:
    raw = RawTerminal(socket_path, api.api_version, target)
    ours = BerthTerminal(berth, target)
    subjects = {"raw": raw.echo, "berth": ours.echo}
    keys = [bytes([c]) for c in b"abcdefghijklmnopqrstuvwxyz"]
    times: dict[str, list[float]] = {name: [] for name in subjects}
    order = list(subjects)
    started = load.report()
    berth_cpu, load_cpu = berth.cpu(), Cpu.of(load.process.pid)
    try:
        for i in range(args.warmup + args.samples):
            random.shuffle(order)  # interleaved, in either order, so noise falls on both alike
            for name in order:
                elapsed = subjects[name](keys[i % len(keys)])
                if i >= args.warmup:
                    times[name].append(elapsed)
                time.sleep(args.gap * (1 + random.random()))
    finally:
        ours.close()
        raw.close()
    ended = load.report()
    berth_cpu, load_cpu = berth.cpu() - berth_cpu, Cpu.of(load.process.pid) - load_cpu
    if ended["broken"]:
        raise RuntimeError(f"the load's websockets broke meanwhile: {ended['broken'][:3]}")
    seconds = ended["now"] - started["now"]
    lines = ended["lines"] - started["lines"]
    skipped = ended["skipped"] - started["skipped"]
    for name in ("raw", "berth"):
        print(describe(name, times[name]))
    flood = (
        f"the log flood's Berth viewer taking {lines / seconds:,.0f} lines/s "
        f"({ended['frames'] - started['frames']} frames; {skipped:,} lines skipped for it)"
        if args.flood and args.viewer
        else "a log flood no one follows"
        if args.flood
        else "no log flood"
    )
    print(
        f"{args.samples} keystrokes each (after {args.warmup} warm-up), interleaved, with "
        f"{args.idle} idle Berth terminals open and {flood}; over {seconds:.0f} s Berth's "
        f"server used {berth_cpu.used / seconds:.0%} of a core (its event loop ran "
        f"{berth_cpu.loop_ran / seconds:.0%} of the time and waited for a CPU "
        f"{berth_cpu.loop_waited / seconds:.0%}), the load's clients {load_cpu.used / seconds:.0%}"
    )
    p50 = {name: percentile(values, 50) * 1000 for name, values in times.items()}
    p95 = {name: percentile(values, 95) * 1000 for name, values in times.items()}
    added = p95["berth"] - p95["raw"]
    verdict = "met" if added <= TARGET_ADDED_P95_MS else "MISSED"
    print(
        f"echo p50 berth {p50['berth']:.2f} ms, raw {p50['raw']:.2f} ms (added "
        f"{p50['berth'] - p50['raw']:.2f} ms, {p50['berth'] / p50['raw']:.2f}x); p95 berth "
        f"{p95['berth']:.2f} ms, raw {p95['raw']:.2f} ms: added at p95 {added:.2f} ms "
        f"(target <= {TARGET_ADDED_P95_MS:.0f} ms: {verdict})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
