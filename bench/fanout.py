"""Benchmark: 200 viewers of one container's log and 200 of the containers list, against one
viewer of each: the engine requests Berth makes, and how late the 200th viewer sees what a
direct engine subscriber sees.

Never run as a test. On the engine DOCKER_HOST names it starts a container printing a line
every 0.2 s and a few containers to start and kill, and runs a counting proxy on a unix
socket in front of the engine; Berth (daphne on 127.0.0.1) talks to the engine through it,
the script directly. In two phases, with 1 + 1 viewers and then with 200 + 200 (the others
in a second process, acknowledging frames as the pages do), it starts and kills containers
one at a time and times, for each start:
  direct  the "start" event on the engine's own GET /events
  berth   the row update (state running) on ws/live/?page=containers, last viewer to join
and for each log line the same: the engine's GET /logs?follow=1 against ws/containers/<id>/
logs/. It prints the engine requests Berth made in each phase, by kind, and the latencies.
See bench/README.md.
"""

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import random
import re
import socket
import sys
import threading
import time
from bisect import bisect_left
from collections import Counter
from urllib.parse import quote

from harness import (
    BerthServer,
    BlockingWebSocket,
    Cpu,
    Run,
    UnixHTTPConnection,
    berth_server,
    engine_request,
    log_frame,
    percentile,
    run_bench,
)

SLEEPER = ["sleep", "86400"]
TICKER = ["sh", "-c", 'i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.2; done']
TICK = re.compile(rb"tick (\d+)\n")
TARGET_P95_MS = 100.0
SETTLE_SECONDS = 1.5  # Berth draws changed rows again a second later; let that pass


def tick_number(line: str) -> int | None:
    """N of a log line "<timestamp> tick N", else None."""
    text = line[line.find(" ") + 1 :]
    return int(text[5:]) if text.startswith("tick ") else None


def main() -> int:
    args = parse_args()
    what = f"creates {args.starters + 1} containers and starts them often"
    return run_bench(what, lambda run: bench(args, run))


def bench(args: argparse.Namespace, run: Run) -> int:
    ticker = run.containers.create("ticker", TICKER)
    starters = [
        run.containers.create(f"start-{i}", SLEEPER, start=False) for i in range(args.starters)
    ]
    proxy = CountingProxy(str(run.tmp / "engine.sock"), run.socket_path)
    try:
        with berth_server(run.tmp, docker_host=f"unix://{proxy.path}") as berth:
            print(f"berth: {berth}", flush=True)
            bench = Bench(args, run.api, run.socket_path, berth, proxy, ticker, starters)
            try:
                return bench.run()
            finally:
                bench.close()
                if bench.others is not None:
                    bench.others.stop()
    finally:
        proxy.stop()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=200, help="viewers of each page")
    parser.add_argument("--events", type=int, default=100, help="starts timed with all viewers")
    parser.add_argument("--baseline-events", type=int, default=30, help="starts with one viewer")
    parser.add_argument("--starters", type=int, default=6, help="containers started in turn")
    args = parser.parse_args()
    if args.viewers < 2 or args.events < 10 or args.starters < 2:
        parser.error("--viewers must be at least 2, --events 10 and --starters 2")
    return args


# --- a counting proxy in front of the engine, in a process of its own ------------------------


class CountingProxy:
    """A unix socket that passes everything to the engine's and back, counting the requests
    that go through (method and path, ids and query left out) and the bytes."""

    def __init__(self, path: str, engine_path: str) -> None:
        self.path = path
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=run_proxy, args=(child, path, engine_path), daemon=True
        )
        self.process.start()
        if not self.conn.poll(30) or self.conn.recv() != "ready":
            raise RuntimeError("the counting proxy did not start")

    def counts(self) -> Counter:
        self.conn.send("counts")
        if not self.conn.poll(30):
            raise RuntimeError("the counting proxy did not answer")
        return self.conn.recv()

    def stop(self) -> None:
        stop_process(self.process, self.conn)


def stop_process(process, conn) -> None:
    if process.is_alive():
        with contextlib.suppress(OSError):
            conn.send("stop")
        process.join(10)
        if process.is_alive():
            process.terminate()
            process.join(5)


HEX_ID = re.compile(r"/[0-9a-f]{12,64}(?=/|$)")


class RequestCounter:
    """Reads one connection's requests as they go to the engine."""

    def __init__(self, counts: Counter) -> None:
        self.counts = counts
        self.buffer = b""
        self.body_left = 0
        self.hijacked = False

    def feed(self, data: bytes) -> None:
        self.counts["bytes to the engine"] += len(data)
        if self.hijacked:
            return
        self.buffer += data
        while True:
            if self.body_left:
                taken = min(self.body_left, len(self.buffer))
                self.buffer = self.buffer[taken:]
                self.body_left -= taken
                if self.body_left:
                    return
            head, found, rest = self.buffer.partition(b"\r\n\r\n")
            if not found:
                return
            self.buffer = rest
            lines = head.decode("latin-1").split("\r\n")
            method, target = lines[0].split(" ")[:2]
            path, _, query = target.partition("?")
            path = HEX_ID.sub("/{id}", re.sub(r"^/v[0-9.]+", "", path))
            follow = " follow" if re.search(r"(^|&)follow=(1|true)", query) else ""
            self.counts[f"{method} {path}{follow}"] += 1
            fields = (line.partition(":") for line in lines[1:])
            headers = {name.strip().lower(): value.strip() for name, _, value in fields}
            if "upgrade" in headers or "chunked" in headers.get("transfer-encoding", ""):
                self.hijacked = True
                return
            self.body_left = int(headers.get("content-length", "0") or 0)


def run_proxy(conn, path: str, engine_path: str) -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_proxy(conn, path, engine_path))


async def _proxy(conn, path: str, engine_path: str) -> None:
    counts: Counter = Counter()

    async def pump(reader, writer, on_data) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(262144):
                on_data(data)
                writer.write(data)
                await writer.drain()

    def downstream(data: bytes) -> None:
        counts["bytes from the engine"] += len(data)

    async def handle(client_reader, client_writer) -> None:
        counts["connections"] += 1
        try:
            engine_reader, engine_writer = await asyncio.open_unix_connection(engine_path)
        except OSError:
            client_writer.close()
            return
        ups = asyncio.create_task(pump(client_reader, engine_writer, RequestCounter(counts).feed))
        downs = asyncio.create_task(pump(engine_reader, client_writer, downstream))
        # Either side closing ends the connection (Berth closes a stream by shutting it).
        await asyncio.wait([ups, downs], return_when=asyncio.FIRST_COMPLETED)
        for task in (ups, downs):
            task.cancel()
        for writer in (engine_writer, client_writer):
            writer.close()

    server = await asyncio.start_unix_server(handle, path=path)
    conn.send("ready")
    loop = asyncio.get_running_loop()
    async with server:
        while (await loop.run_in_executor(None, conn.recv)) == "counts":
            conn.send(Counter(counts))


# --- the other 199 + 199 viewers, in a process of their own ----------------------------------


class OtherViewers:
    """Viewers of both pages in a second process, acknowledging each frame as the pages do,
    and noting when each sees each container's row turn to running and each log line."""

    def __init__(self, headers: dict, live_url: str, logs_url: str, count: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=run_viewers, args=(child, headers, live_url, logs_url, count), daemon=True
        )
        self.process.start()
        if not self.conn.poll(300):
            raise RuntimeError("the viewers' process did not get ready in 5 minutes")
        message = self.conn.recv()
        if message[0] != "ready":
            raise RuntimeError(f"the viewers' process failed: {message[1]}")
        self.joined = message[1]

    def report(self) -> dict:
        self.conn.send("report")
        if not self.conn.poll(60):
            raise RuntimeError("the viewers' process did not report")
        return self.conn.recv()[1]

    def stop(self) -> None:
        stop_process(self.process, self.conn)


def run_viewers(conn, headers: dict, live_url: str, logs_url: str, count: int) -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_viewers(conn, headers, live_url, logs_url, count))


async def _viewers(conn, headers: dict, live_url: str, logs_url: str, count: int) -> None:
    from websockets.asyncio.client import connect

    # Per viewer: [(container id, when its row said running)] or [(tick, when it came)].
    running: list[list] = []
    ticks: list[list] = []
    broken: list[str] = []

    async def viewer(url: str, seen: list, joined: asyncio.Event, live: bool) -> None:
        try:
            async with connect(
                url, additional_headers=headers, proxy=None, compression=None, max_size=None
            ) as ws:
                joined.set()
                async for message in ws:
                    now = time.monotonic()
                    data, lines = (json.loads(message), []) if live else log_frame(message)
                    if "lines" not in data and "blocks" not in data:
                        continue
                    for item in data.get("lines", ()):
                        if item.get("kind") == "container" and item.get("state") == "running":
                            seen.append((item["id"], now))
                    for line in lines:
                        if (tick := tick_number(line)) is not None:
                            seen.append((tick, now))
                    await ws.send('{"ack":1}')
        except Exception as error:  # reported, and the bench stops
            broken.append(repr(error))
            joined.set()

    tasks = []
    for live, url, store in ((True, live_url, running), (False, logs_url, ticks)):
        for _ in range(count):
            store.append([])
            joined = asyncio.Event()
            tasks.append(asyncio.create_task(viewer(url, store[-1], joined, live)))
            await asyncio.wait_for(joined.wait(), 60)  # one by one: they join in order
    if broken:
        conn.send(("failed", broken[0]))
        return
    conn.send(("ready", len(tasks)))
    loop = asyncio.get_running_loop()
    try:
        while (await loop.run_in_executor(None, conn.recv)) == "report":
            conn.send(("report", {"running": running, "ticks": ticks, "broken": broken}))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


# --- what the script itself watches ----------------------------------------------------------


class Watch(threading.Thread):
    """A thread noting when things arrive, by key."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.seen: dict = {}
        self.noted = 0
        self.error: Exception | None = None

    def note(self, key, now: float) -> None:
        self.noted += 1
        self.seen.setdefault(key, now)

    def run(self) -> None:
        try:
            self.read()
        except (OSError, ConnectionError, ValueError) as error:
            if not getattr(self, "closing", False):
                self.error = error


class DirectEvents(Watch):
    """GET /events on the engine's own socket: (id, action) -> when it came."""

    def __init__(self, socket_path: str, version: str) -> None:
        super().__init__()
        filters = quote(json.dumps({"type": ["container"]}))
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(socket_path)
        self.sock.sendall(
            f"GET /v{version}/events?filters={filters} HTTP/1.0\r\nHost: docker\r\n\r\n".encode()
        )

    def read(self) -> None:
        buffer = b""
        while data := self.sock.recv(65536):
            now = time.monotonic()
            buffer += data
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if line.startswith(b"{"):
                    event = json.loads(line)
                    self.note((event.get("id"), event.get("Action")), now)

    def close(self) -> None:
        self.closing = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


class DirectLog(Watch):
    """GET /containers/<id>/logs?follow=1 on the engine's own socket: tick -> when it came."""

    def __init__(self, socket_path: str, version: str, container_id: str) -> None:
        super().__init__()
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(socket_path)
        path = f"/v{version}/containers/{container_id}/logs?follow=1&stdout=1&stderr=1&tail=0"
        self.sock.sendall(f"GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n".encode())

    def read(self) -> None:
        buffer = b""
        while data := self.sock.recv(65536):
            now = time.monotonic()
            buffer += data
            end = 0
            for match in TICK.finditer(buffer):
                self.note(int(match.group(1)), now)
                end = match.end()
            buffer = buffer[end:][-256:]

    close = DirectEvents.close


class BerthViewer(Watch):
    """One viewer of a Berth page, acknowledging each frame as the page does."""

    def __init__(self, url: str, headers: dict, live: bool) -> None:
        super().__init__()
        self.ws = BlockingWebSocket(url, headers)
        self.ws.settimeout(None)
        self.live = live

    def read(self) -> None:
        while True:
            message = self.ws.recv()
            now = time.monotonic()
            data, lines = (json.loads(message), []) if self.live else log_frame(message)
            if "lines" not in data and "blocks" not in data:
                continue
            for item in data.get("lines", ()):
                if item.get("kind") == "container":
                    self.note((item["id"], item.get("state")), now)
            for line in lines:
                if (tick := tick_number(line)) is not None:
                    self.note(tick, now)
            self.ws.send_text('{"ack":1}')

    def close(self) -> None:
        self.closing = True
        self.ws.close()


def wait_for(condition, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.002)
    return False


# --- the bench -------------------------------------------------------------------------------


class Bench:
    def __init__(self, args, api, socket_path, berth: BerthServer, proxy, ticker, starters) -> None:
        self.args = args
        self.api = api
        self.version = api.api_version
        self.socket_path = socket_path
        self.berth = berth
        self.proxy = proxy
        self.ticker = ticker
        self.starters = starters
        self.engine = UnixHTTPConnection(socket_path)
        self.live_url = berth.ws_url("/ws/live/", page="containers")
        self.logs_url = berth.ws_url(f"/ws/containers/{ticker}/logs/", tail="500", follow="1")
        self.events = DirectEvents(socket_path, self.version)
        self.log = DirectLog(socket_path, self.version, ticker)
        self.events.start()
        self.log.start()
        self.ours: list[BerthViewer] = []
        self.others: OtherViewers | None = None
        self.turn = 0

    def close(self) -> None:
        for watch in (*self.ours, self.events, self.log):
            watch.close()
        self.engine.close()

    def join_ours(self) -> tuple[BerthViewer, BerthViewer]:
        for viewer in self.ours:
            viewer.close()
        live = BerthViewer(self.live_url, self.berth.headers(), live=True)
        logs = BerthViewer(self.logs_url, self.berth.headers(), live=False)
        for viewer in (live, logs):
            viewer.start()
        self.ours = [live, logs]
        return live, logs

    def cycle(self, live: BerthViewer) -> tuple[str, float, float, float]:
        """Starts the next container and kills it again: its id, when the start was asked
        for, and when the direct subscriber and Berth's viewer saw it."""
        container_id = self.starters[self.turn % len(self.starters)]
        self.turn += 1
        for key in ("running", "exited"):
            live.seen.pop((container_id, key), None)
        asked = time.monotonic()
        status, body = engine_request(
            self.engine, "POST", f"/v{self.version}/containers/{container_id}/start"
        )
        if status not in (204, 304):
            raise RuntimeError(f"start answered {status}: {body[:200]!r}")
        started = (container_id, "start")
        running = (container_id, "running")
        if not wait_for(lambda: started in self.events.seen and running in live.seen):
            raise RuntimeError(f"no start of {container_id[:12]} seen within 15 s")
        direct, berth = self.events.seen.pop(started), live.seen.pop(running)
        if direct < asked or berth < asked:
            raise RuntimeError("an earlier start was taken for this one")
        status, body = engine_request(
            self.engine, "POST", f"/v{self.version}/containers/{container_id}/kill"
        )
        if status != 204:
            raise RuntimeError(f"kill answered {status}: {body[:200]!r}")
        wait_for(lambda: (container_id, "exited") in live.seen)
        for action in ("kill", "die"):
            self.events.seen.pop((container_id, action), None)
        time.sleep(random.uniform(0.1, 0.3))
        return container_id, asked, direct, berth

    def phase(self, events: int, live: BerthViewer) -> dict:
        """Times `events` starts; returns them with the engine requests Berth made meanwhile."""
        time.sleep(SETTLE_SECONDS)
        clients = self.others.process.pid if self.others else None
        before, cpu, began = self.proxy.counts(), self.berth.cpu(), time.monotonic()
        clients_cpu = Cpu.of(clients).used if clients else 0.0
        first_tick = max(self.log.seen, default=0) + 1
        events_before = self.events.noted
        cycles = [self.cycle(live) for _ in range(events)]
        time.sleep(SETTLE_SECONDS)
        after = self.proxy.counts()
        seconds = time.monotonic() - began
        cpu = self.berth.cpu() - cpu
        last_tick = max(self.log.seen, default=0)
        return {
            "cycles": cycles,
            "requests": after - before,
            "seconds": seconds,
            "cpu": cpu.used / seconds,
            "clients_cpu": (Cpu.of(clients).used - clients_cpu) / seconds if clients else 0.0,
            "loop_ran": cpu.loop_ran / seconds,
            "loop_waited": cpu.loop_waited / seconds,
            "ticks": range(first_tick, last_tick + 1),
            "all_events": self.events.noted - events_before,
        }

    def run(self) -> int:
        args = self.args
        n = args.viewers
        # Phase 1: one viewer of each page.
        live, logs = self.join_ours()
        if not wait_for(lambda: len(logs.seen) > 3, 30):
            raise RuntimeError("Berth's log viewer saw no line within 30 s")
        print(f"phase 1: 1 + 1 viewers, {args.baseline_events} starts", flush=True)
        one = self.phase(args.baseline_events, live)
        one["log"] = self.log_latencies(one["ticks"], [logs.seen])

        # Joining: n - 1 + n - 1 other viewers, then ours again as the last of each page.
        for viewer in self.ours:
            viewer.close()
        self.ours = []
        time.sleep(SETTLE_SECONDS)
        before, began = self.proxy.counts(), time.monotonic()
        self.others = OtherViewers(self.berth.headers(), self.live_url, self.logs_url, n - 1)
        live, logs = self.join_ours()
        if not wait_for(lambda: len(logs.seen) > 3, 30):
            raise RuntimeError("Berth's log viewer saw no line within 30 s")
        joining = {"requests": self.proxy.counts() - before, "seconds": time.monotonic() - began}

        print(f"phase 2: {n} + {n} viewers, {args.events} starts", flush=True)
        many = self.phase(args.events, live)
        report = self.others.report()
        if report["broken"]:
            raise RuntimeError(f"other viewers' websockets broke: {report['broken'][:3]}")
        many["log"] = self.log_latencies(
            many["ticks"], [logs.seen] + [dict(v) for v in report["ticks"]]
        )
        return self.print_results(one, joining, many, report)

    def log_latencies(self, ticks: range, viewers: list[dict]) -> dict:
        """Per log line: the last-joined viewer's delay, and the slowest viewer's."""
        last, slowest = [], []
        for tick in ticks:
            direct = self.log.seen.get(tick)
            if direct is None or tick not in viewers[0]:
                continue
            last.append(viewers[0][tick] - direct)
            seen = [v[tick] for v in viewers if tick in v]
            if len(seen) == len(viewers):
                slowest.append(max(seen) - direct)
        return {"last": last, "slowest": slowest}

    def print_results(self, one: dict, joining: dict, many: dict, report: dict) -> int:
        n = self.args.viewers
        print("engine requests Berth made (counted by a proxy in front of the engine):")
        rows = [("1 + 1 viewers", one), (f"{n} + {n} viewers", many)]
        for label, phase in rows:
            requests = phase["requests"]
            total = sum(v for k, v in requests.items() if k[0].isupper())
            events = len(phase["cycles"])
            print(
                f"  {label:17} {total:4} requests for {events} starts and kills of ours "
                f"({phase['all_events']} container events in all on the engine) over "
                f"{phase['seconds']:.0f} s: {total / events:.2f} a start; "
                f"{requests['bytes from the engine'] // 1024} KiB from the engine; "
                f"Berth's server used {phase['cpu']:.0%} of a core"
                + (
                    f", the other viewers' process {phase['clients_cpu']:.0%}"
                    if phase["clients_cpu"]
                    else ""
                )
                + f"; its event loop ran {phase['loop_ran']:.0%} of the time and waited for "
                f"a CPU {phase['loop_waited']:.0%}"
            )
            print(f"      {describe_requests(requests)}")
        print(
            f"  joining {n - 1} + {n - 1} viewers and the last 1 + 1 "
            f"({joining['seconds']:.0f} s): {describe_requests(joining['requests'])}"
        )
        print("start event seen on Berth's containers list after the direct /events subscriber:")
        # Each other viewer's sightings of each container running, in time order.
        others = []
        for sightings in report["running"]:
            by_id: dict[str, list[float]] = {}
            for container_id, when in sightings:
                by_id.setdefault(container_id, []).append(when)
            others.append(by_id)
        one_ms = [(b - d) * 1000 for _, _, d, b in one["cycles"]]
        last_ms = [(b - d) * 1000 for _, _, d, b in many["cycles"]]
        slowest_ms = []
        for container_id, asked, direct, berth in many["cycles"]:
            # Each viewer's first sight of this container running after this start.
            seen = [berth]
            for by_id in others:
                times = by_id.get(container_id, [])
                index = bisect_left(times, asked)
                if index < len(times):
                    seen.append(times[index])
            if len(seen) == n:
                slowest_ms.append((max(seen) - direct) * 1000)
        print(latency_line("1 viewer", one_ms))
        print(latency_line(f"viewer {n} of {n}", last_ms))
        print(latency_line(f"slowest of {n}", slowest_ms))
        print("log line seen on Berth's log page after the direct log follower:")
        print(latency_line("1 viewer", [s * 1000 for s in one["log"]["last"]]))
        print(latency_line(f"viewer {n} of {n}", [s * 1000 for s in many["log"]["last"]]))
        print(latency_line(f"slowest of {n}", [s * 1000 for s in many["log"]["slowest"]]))
        per_one = sum(v for k, v in one["requests"].items() if k[0].isupper()) / len(one["cycles"])
        per_many = sum(v for k, v in many["requests"].items() if k[0].isupper()) / len(
            many["cycles"]
        )
        p95 = percentile(last_ms, 95)
        verdict = "met" if p95 <= TARGET_P95_MS else "MISSED"
        print(
            f"engine requests a start: {per_one:.2f} with 1 viewer, {per_many:.2f} with {n} "
            f"({per_many / per_one:.2f}x); start seen by viewer {n} p95 {p95:.0f} ms after "
            f"the engine's own subscriber (target <= {TARGET_P95_MS:.0f} ms: {verdict})"
        )
        return 0


def describe_requests(requests: Counter) -> str:
    kinds = sorted(((v, k) for k, v in requests.items() if k[0].isupper() and v), reverse=True)
    return ", ".join(f"{k} x{v}" for v, k in kinds) or "none"


def latency_line(name: str, ms: list[float]) -> str:
    if not ms:
        return f"  {name:15} no samples"
    return (
        f"  {name:15} n={len(ms):<4} p50 {percentile(ms, 50):6.1f} ms  p95 "
        f"{percentile(ms, 95):6.1f}  max {max(ms):6.1f}"
    )


if __name__ == "__main__":
    sys.exit(main())
