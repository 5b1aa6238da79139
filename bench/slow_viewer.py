"""Benchmark: one viewer that never reads, beside twenty that do, on one followed container log.

Never run as a test. On the engine that DOCKER_HOST names it starts a container printing RATE
numbered lines a second, serves Berth with daphne on 127.0.0.1 and follows the log with:
  viewers  VIEWERS websockets on ws/containers/<id>/logs/?tail=0&follow=1, with the session
           cookie and an Origin header, reading and acknowledging every frame at once, spread
           over CLIENTS processes so that no one client loop delays them all
  slow     one more that completes the handshake on a raw socket with a small receive buffer
           and never reads again, so its TCP buffers fill and the server holds what it keeps
  raw      GET /containers/<id>/logs?follow=1&timestamps=1 on the engine's socket in a
           process of its own: the engine's own delay, for reference
for SECONDS, sampling the daphne process's VmRSS. A line's delay is when a reader received it
less the timestamp the engine gave it (both this machine's clock). It prints the RSS growth
from before the viewers came to the peak (target under 50 MB) and the delay at p50/p99/max
(target p99 under 250 ms), then removes the container (also on Ctrl-C or an error).
See bench/README.md.
"""

import argparse
import asyncio
import base64
import calendar
import contextlib
import fcntl
import multiprocessing
import os
import socket
import statistics
import struct
import sys
import termios
import time
from array import array

from harness import (
    PAD,
    BerthServer,
    Containers,
    Run,
    berth_server,
    line_number,
    log_frame,
    run_bench,
)
from websockets.asyncio.client import connect

# The writer paces itself on /proc/uptime (10 ms steps; busybox's date has no sub-second
# clock): it prints the lines it owes, then sleeps a little.
WRITER = """BEGIN {
  getline up < "/proc/uptime"; close("/proc/uptime"); split(up, a, " "); t0 = a[1]
  while (n < total) {
    getline up < "/proc/uptime"; close("/proc/uptime"); split(up, a, " ")
    want = int((a[1] - t0) * rate); if (want > total) want = total
    while (n < want) { n++; printf "%08d %s\\n", n, pad }
    fflush(); system("usleep 3000")
  }
}"""


def main() -> int:
    args = parse_args()
    return run_bench(
        "starts a container printing thousands of lines a second", lambda run: bench(args, run)
    )


def bench(args: argparse.Namespace, run: Run) -> int:
    with berth_server(run.tmp, docker_host=run.docker_host) as berth:
        return measure(args, run.containers, berth, run.docker_host)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rate", type=int, default=5000, help="lines a second the container prints"
    )
    parser.add_argument("--viewers", type=int, default=20, help="viewers that read promptly")
    parser.add_argument("--slow", type=int, default=1, help="viewers that never read")
    parser.add_argument("--seconds", type=float, default=30, help="how long to measure")
    parser.add_argument("--clients", type=int, default=2, help="processes the viewers run in")
    args = parser.parse_args()
    if args.rate < 1 or args.viewers < 1 or args.slow < 0 or not 1 <= args.seconds <= 600:
        parser.error("--rate and --viewers must be positive, --seconds 1 to 600")
    if not 1 <= args.clients <= args.viewers:
        parser.error("--clients must be 1 to --viewers")
    return args


# --- what a reader measures -------------------------------------------------------------------

_minutes: dict[str, int] = {}


def stamp_seconds(stamp: str) -> float:
    """The engine's RFC 3339 UTC timestamp (2026-11-27T21:02:09.123456789Z) as epoch seconds."""
    head = stamp[:17]  # to the minute
    minute = _minutes.get(head)
    if minute is None:
        minute = _minutes[head] = calendar.timegm(time.strptime(head, "%Y-%m-%dT%H:%M:"))
    return minute + float(stamp[17:-1])


class Record:
    """One reader's lines: the delay of each line stamped within the window, and checks."""

    def __init__(self) -> None:
        self.delays = array("d")
        self.skipped = 0
        self.gaps = 0
        self.number = 0
        self.frames = 0
        self.start = self.end = float("inf")

    def add(self, arrived: float, lines: list[str]) -> None:
        """`lines` as "<timestamp> <number> <padding>"."""
        first, last = line_number(lines[0]), line_number(lines[-1])
        if (self.number and first != self.number + 1) or last - first != len(lines) - 1:
            self.gaps += 1
        self.number = last
        if arrived < self.start:
            return
        self.frames += 1
        start, end = self.start, self.end
        for when in map(stamp_seconds, [line[: line.index(" ")] for line in lines]):
            if start <= when <= end:
                self.delays.append(arrived - when)

    def result(self) -> dict:
        return {
            "delays": self.delays.tobytes(),
            "lines": len(self.delays),
            "skipped": self.skipped,
            "gaps": self.gaps,
            "frames": self.frames,
        }


# Readers go on this long after the window, for the lines stamped near its end.
GRACE_SECONDS = 3.0


# --- the readers, each kind in processes of its own --------------------------------------------


async def follow(url: str, headers: dict, record: Record, connected) -> None:
    """Reads and acknowledges every frame at once, as the page does when it keeps up."""
    async with connect(url, additional_headers=headers, compression=None, max_size=None) as ws:
        connected()
        async for message in ws:
            arrived = time.time()
            data, lines = log_frame(message)
            if "blocks" in data:
                await ws.send('{"ack":1}')
                record.skipped += data.get("skipped", 0)
                if lines:
                    record.add(arrived, lines)
            elif data.get("error"):
                raise RuntimeError(f"Berth refused: {data['error']}")
            elif data.get("state") == "ended":
                return


def viewers_process(conn, count: int, url: str, headers: dict) -> None:
    """A client process: `count` viewers; says when all are connected, measures from the
    start to the end it is then sent, and sends back what it measured."""

    async def run() -> list[dict]:
        records = [Record() for _ in range(count)]
        ready = asyncio.Event()
        done = [0]

        def connected() -> None:
            done[0] += 1
            if done[0] == count:
                ready.set()

        tasks = [asyncio.create_task(follow(url, headers, r, connected)) for r in records]
        waiting = asyncio.create_task(ready.wait())
        await asyncio.wait([waiting, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if task.done():
                task.result()  # a viewer that failed says why
        conn.send("connected")
        start, end = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        for record in records:
            record.start, record.end = start, end
        while time.time() < end + GRACE_SECONDS:
            await asyncio.sleep(0.1)
            for task in tasks:
                if task.done():
                    task.result()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return [record.result() for record in records]

    try:
        results = asyncio.run(run())
        conn.send({"records": results, "cpu": time.process_time()})
    except Exception as error:  # reported by the parent
        conn.send({"error": f"{type(error).__name__}: {error}"})


def raw_process(conn, socket_path: str, version: str, container_id: str) -> None:
    """The engine's log stream read directly (multiplexed frames), for its own delay."""
    record = Record()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(socket_path)
            query = "follow=1&stdout=1&stderr=1&timestamps=1&tail=0"
            path = f"/v{version}/containers/{container_id}/logs?{query}"
            sock.sendall(f"GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n".encode())
            buf = b""
            while b"\r\n\r\n" not in buf:
                buf += sock.recv(65536)
            head, _, buf = buf.partition(b"\r\n\r\n")
            if b" 200 " not in head.split(b"\r\n", 1)[0]:
                raise RuntimeError(f"the engine answered {head[:40]!r}")
            conn.send("connected")
            record.start, record.end = conn.recv()
            sock.settimeout(0.2)
            while time.time() < record.end + GRACE_SECONDS:
                with contextlib.suppress(TimeoutError):
                    buf += sock.recv(1 << 20)
                arrived = time.time()
                lines, pos = [], 0
                while len(buf) - pos >= 8:
                    size = int.from_bytes(buf[pos + 4 : pos + 8], "big")
                    if len(buf) - pos - 8 < size:
                        break
                    lines.extend(buf[pos + 8 : pos + 8 + size].decode().splitlines())
                    pos += 8 + size
                buf = buf[pos:]
                if lines:
                    record.add(arrived, lines)
        conn.send({"records": [record.result()], "cpu": time.process_time()})
    except Exception as error:  # reported by the parent
        conn.send({"error": f"{type(error).__name__}: {error}"})


def slow_socket(berth: BerthServer, path: str) -> socket.socket:
    """A websocket handshake on a socket with a small receive buffer, which then never reads."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", berth.port))
    key = base64.b64encode(os.urandom(16)).decode()
    browser = "".join(f"{name}: {value}\r\n" for name, value in berth.headers().items())
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{berth.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"{browser}\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:  # a byte at a time: nothing past the handshake is read
        byte = sock.recv(1)
        if not byte:
            raise RuntimeError("the slow viewer's handshake was cut")
        head += byte
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(f"the slow viewer's handshake answered {head[:40]!r}")
    return sock


def unread_bytes(sock: socket.socket) -> int:
    return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]


# --- measuring ---------------------------------------------------------------------------------


def measure(
    args: argparse.Namespace, containers: Containers, berth: BerthServer, docker_host: str
) -> int:
    api = containers.api
    total = int(args.rate * (args.seconds + 120))  # it stops by itself if the bench is killed
    container_id = containers.create(
        "writer",
        [
            *("awk", "-v", f"pad={PAD}", "-v", f"rate={args.rate}", "-v", f"total={total}"),
            WRITER,
        ],
        start=False,
    )

    # Once through the whole path first, so that what a first connection loads is loaded
    # before the baseline (an unstarted container's log is empty and ends at once).
    warm_url = berth.ws_url(f"/ws/containers/{container_id}/logs/?tail=all")
    asyncio.run(follow(warm_url, berth.headers(), Record(), lambda: None))
    time.sleep(1)
    baseline = berth.rss_kib()

    api.start(container_id)
    path = f"/ws/containers/{container_id}/logs/?tail=0&follow=1"
    spawn = multiprocessing.get_context("spawn")
    workers: list[tuple[multiprocessing.Process, object]] = []
    try:
        shares = [
            args.viewers // args.clients + (i < args.viewers % args.clients)
            for i in range(args.clients)
        ]
        for share in shares:
            parent, child = spawn.Pipe()
            target_args = (child, share, berth.ws_url(path), berth.headers())
            workers.append((spawn.Process(target=viewers_process, args=target_args), parent))
        parent, child = spawn.Pipe()
        socket_path = docker_host.removeprefix("unix://")
        raw_args = (child, socket_path, api.api_version, container_id)
        workers.append((spawn.Process(target=raw_process, args=raw_args), parent))
        for process, _ in workers:
            process.start()
        for _, conn in workers:
            if not conn.poll(60):
                raise RuntimeError("a reader did not connect within 60 s")
            message = conn.recv()
            if message != "connected":
                raise RuntimeError(f"a reader failed: {message.get('error', message)}")
        slow = [slow_socket(berth, path) for _ in range(args.slow)]
        connected_rss = berth.rss_kib()
        start = time.time() + 1  # the first frames settle before measuring
        end = start + args.seconds
        for _, conn in workers:
            conn.send((start, end))
        time.sleep(max(start - time.time(), 0))
        cpu_start = berth.cpu()
        samples: list[int] = []
        while time.time() < end:
            samples.append(berth.rss_kib())
            time.sleep(0.25)
        server_cpu = berth.cpu() - cpu_start
        end_rss = berth.rss_kib()
        unread = [unread_bytes(s) for s in slow]
        results = []
        for _, conn in workers:
            if not conn.poll(60):
                raise RuntimeError("a reader did not report within 60 s")
            results.append(conn.recv())
        for sock in slow:
            sock.close()
    finally:
        for process, _ in workers:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
    failed = [r["error"] for r in results if "error" in r]
    if failed:
        raise RuntimeError(f"a reader failed: {failed[0]}")
    viewers = [record for result in results[:-1] for record in result["records"]]
    raw = results[-1]["records"][0]
    client_cpu = sum(result["cpu"] for result in results[:-1])
    print(
        f"{args.viewers} viewers in {args.clients} processes + {args.slow} that never read, "
        f"{args.rate} lines/s, {args.seconds:.0f} s measured, {len(samples)} RSS samples; "
        f"daphne ran {server_cpu.used / args.seconds:.0%} of a core, its event loop waited for "
        f"one {server_cpu.loop_waited / args.seconds:.0%} of the time; the viewers' processes ran "
        f"{client_cpu:.1f} s"
    )
    report(baseline, connected_rss, samples, end_rss, viewers, raw, unread)
    return 0


def percentile(values: list[float], fraction: float) -> float:
    return values[min(int(len(values) * fraction), len(values) - 1)]


def report(baseline, connected_rss, samples, end_rss, viewers, raw, unread) -> None:
    mib = 1024  # KiB in a MiB
    peak = max(samples)
    print(
        f"  daphne RSS: {baseline / mib:.1f} MiB before the viewers, {connected_rss / mib:.1f} "
        f"once connected, then median {statistics.median(samples) / mib:.1f}, peak "
        f"{peak / mib:.1f}, end {end_rss / mib:.1f}"
    )
    if unread:
        kib = ", ".join(f"{u // 1024} KiB" for u in unread)
        print(f"  slow viewer: {kib} unread in its socket")
    counts = [v["lines"] for v in viewers]
    print(
        f"  viewers received {min(counts)}-{max(counts)} lines each stamped in the window "
        f"({statistics.mean(v['frames'] for v in viewers):.0f} frames), "
        f"{sum(v['skipped'] for v in viewers)} skipped, {sum(v['gaps'] for v in viewers)} gaps; "
        f"raw engine follow {raw['lines']} lines"
    )
    delays = array("d")
    for v in viewers:
        delays.frombytes(v["delays"])
    raw_delays = array("d", raw["delays"])
    if not delays or not raw_delays:
        raise RuntimeError("no line arrived while measuring")
    ms = sorted(d * 1000 for d in delays)
    raw_ms = sorted(d * 1000 for d in raw_delays)
    p99, raw_p99 = percentile(ms, 0.99), percentile(raw_ms, 0.99)
    print(
        f"  delay over {len(ms)} lines: p50 {percentile(ms, 0.5):.0f} ms, p99 {p99:.0f} ms, "
        f"max {ms[-1]:.0f} ms; raw engine follow over {len(raw_ms)} lines: p50 "
        f"{percentile(raw_ms, 0.5):.0f} ms, p99 {raw_p99:.0f} ms, max {raw_ms[-1]:.0f} ms"
    )
    print(
        f"RSS growth {(peak - baseline) / mib:.1f} MiB (target under 50); viewers' delay p99 "
        f"{p99:.0f} ms (target under 250), raw engine p99 {raw_p99:.0f} ms, "
        f"berth/raw p99 {p99 / max(raw_p99, 0.001):.1f}x"
    )


if __name__ == "__main__":
    sys.exit(main())
