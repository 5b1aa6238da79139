"""`docker logs`: the shared live follow of a container, and one-off history reads.

Lines always come from the engine with their timestamps, which order them across containers,
find where history ends and live lines begin, and let a lost connection resume with `since`
without showing a line twice.
"""

import asyncio
import contextlib
import heapq
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from containers_app.engine import Engine, EngineError, EngineUnavailable, NotFound, raw
from containers_app.engine import containers as engine_containers
from containers_app.streams.executor import engine_call, in_thread
from containers_app.streams.fanout import (
    FRAME_BYTES,
    Batch,
    Registry,
    Upstream,
    Viewer,
    batches,
)
from containers_app.streams.frames import LineSplitter, timestamp_key

RING_LINES = 1000
RETRY_SECONDS = (0.2, 0.5, 1, 2, 5)
HISTORY_BATCH = 2000
# A log read to its end (not followed) is read in blocks of at least this much; see
# _open_whole_log.
HISTORY_READ_MIN = 64 * 1024
# The engine writes a followed log a line at a time. After a read that did not fill the
# buffer, the reader waits this long before the next, so a flood arrives in blocks of many
# lines rather than as a read, a batch and an event loop wakeup per line or two.
GATHER_SECONDS = 0.002
# Under a flood, lines go to the event loop at least this often (viewers batch 25 ms anyway).
HAND_SECONDS = 0.02

# A line as it travels: (stream, timestamp, text); merged views add the container's index.
LogLine = tuple[int, str, str]

registry = Registry()


class ViewerGone(Exception):
    """The viewer left while its history was being read: stop reading."""


def engine_since(timestamp: str) -> str:
    """An RFC 3339 timestamp as the `since` the logs endpoint takes: seconds.nanoseconds."""
    key = timestamp_key(timestamp)
    head, _, fraction = key.rstrip("Z").partition(".")
    seconds = int(datetime.fromisoformat(head + "+00:00").timestamp())
    return f"{seconds}.{fraction}"


@dataclass
class Cursor:
    """Where a reader is in a log. After a reconnect or a switch from history to live, lines
    up to `boundary` were shown already and are skipped; once a later line comes, filtering
    stops (stdout and stderr are stamped apart and may interleave slightly out of order)."""

    boundary: str = ""
    last: str = ""
    last_stamp: str = ""

    def resume(self) -> None:
        self.boundary = self.last

    def take(self, pairs: list[tuple[int, str]]) -> list[LogLine]:
        # Runs for every line of every followed log: the helpers are inlined.
        out: list[LogLine] = []
        append = out.append
        boundary, last, last_stamp = self.boundary, self.last, self.last_stamp
        for stream, line in pairs:
            stamp, _, text = line.partition(" ")
            if len(stamp) < 20 or stamp[10] != "T" or stamp[4] != "-" or not stamp[:4].isdigit():
                # Not the engine's stamp (as 2026-11-27T21:02:09.1Z): the rest of a line cut
                # for its length, which has the timestamp of its start.
                stamp, text = last_stamp, line
            last_stamp = stamp
            # A stamp with all nine digits of nanoseconds is its own key (see timestamp_key).
            if len(stamp) == 30 and stamp[19] == "." and stamp[29] == "Z":
                key = stamp
            else:
                key = timestamp_key(stamp)
            if boundary:
                if key <= boundary:
                    continue
                boundary = ""
            append((stream, stamp, text))
            if key > last:
                last = key
        self.boundary, self.last, self.last_stamp = boundary, last, last_stamp
        return out


class LogUpstream(Upstream):
    """Follows one container's log from now on, for every viewer of it in the process."""

    def __init__(self, key, registry: Registry, *, engine: Engine, container_id: str, tty: bool):
        super().__init__(key, registry)
        self.engine = engine
        self.container_id = container_id
        self.tty = tty
        self.ring: deque[LogLine] = deque(maxlen=RING_LINES)
        self.cursor = Cursor()
        self.connected = threading.Event()
        self._stream: raw.RawStream | None = None

    def interrupt(self) -> None:
        if self._stream is not None:
            self._stream.close()

    def _params(self) -> dict:
        params = {"follow": 1, "stdout": 1, "stderr": 1, "timestamps": 1}
        if self.cursor.last:
            self.cursor.resume()
            params.update(since=engine_since(self.cursor.last), tail="all")
        else:
            params.update(tail=0)
        return params

    def run(self) -> None:
        path = f"/containers/{self.container_id}/logs"
        failures = 0
        while not self.stopping.is_set():
            try:
                self._stream = raw.open_stream(self.engine, path, self._params())
            except NotFound:
                self.tell(state="ended", notice="The container was removed.")
                return
            except EngineError as error:
                self._wait_for_engine(error, failures)
                failures += 1
                continue
            if failures:
                self.tell(state="live", notice="Reconnected to the engine.")
            failures = 0
            self.connected.set()
            self._read(self._stream)
            if self.stopping.is_set():
                return
            if self._ended():
                return

    def _read(self, stream: raw.RawStream) -> None:
        """Reads the followed log until it ends, handing lines to the event loop in batches:
        when the engine pauses, or every HAND_SECONDS or frame's worth under a flood."""
        splitter = LineSplitter(tty=self.tty)
        pending: list[LogLine] = []
        pending_bytes, since = 0, 0.0
        try:
            data = stream.read()
            while data:
                lines = self.cursor.take(splitter.feed(data))
                if lines:
                    self.ring.extend(lines)
                    if not pending:
                        since = time.monotonic()
                    pending += lines
                    pending_bytes += len(data)
                if len(data) < raw.READ_SIZE // 2 and self.stopping.wait(GATHER_SECONDS):
                    return
                more = stream.read_ready()
                if pending and (
                    more is None
                    or pending_bytes >= FRAME_BYTES
                    or time.monotonic() - since >= HAND_SECONDS
                ):
                    if not self._hand_lines(pending):
                        return
                    pending, pending_bytes = [], 0
                data = stream.read() if more is None else more
        except OSError:
            pass  # the engine went away; _ended() finds out why
        finally:
            stream.close()
        lines = self.cursor.take(splitter.flush())
        if lines:
            self.ring.extend(lines)
        self._hand_lines(pending + lines)

    def _hand_lines(self, lines: list[LogLine]) -> bool:
        return all(self.hand(batch) for batch in batches(lines))

    def _ended(self) -> bool:
        """After the engine closed the stream: removed, stopped, or just a lost connection."""
        try:
            state = engine_containers.container_inspect(
                engine=self.engine, container_id=self.container_id
            )
        except NotFound:
            self.tell(state="ended", notice="The container was removed.")
            return True
        except EngineError as error:
            self._wait_for_engine(error, 0)
            return False
        if state.state == "removing":  # `docker rm -f`: killed, and gone in a moment
            self.tell(state="ended", notice="The container was removed.")
            return True
        if state.running:
            return False
        self.tell(
            state="ended",
            notice=f"The container stopped (exit code {state.exit_code}).",
            exit_code=state.exit_code,
        )
        return True

    def _wait_for_engine(self, error: EngineError, failures: int) -> None:
        if isinstance(error, EngineUnavailable) or failures == 0:
            notice = f"Engine unavailable ({error.reason}); retrying…"
            self.tell(state="reconnecting", notice=notice)
        self.stopping.wait(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])


def follow_container(engine: Engine, container_id: str, tty: bool) -> LogUpstream:
    key = (engine.name, "logs", container_id)
    upstream = registry.get(
        key,
        lambda: LogUpstream(key, registry, engine=engine, container_id=container_id, tty=tty),
    )
    return upstream  # type: ignore[return-value]


def read_history(
    engine: Engine,
    container_id: str,
    *,
    tty: bool,
    tail: int | None,
    since: str | None = None,
    until: str | None = None,
    sink,
) -> str:
    """Reads the container's log up to now in a dedicated thread's time, handing batches of
    lines to `sink` (which may block for room). Returns the last timestamp key read."""
    params = {
        "stdout": 1,
        "stderr": 1,
        "timestamps": 1,
        "tail": "all" if tail is None else tail,
        "since": since,
        "until": until,
    }
    stream = _open_whole_log(engine, container_id, params)
    splitter = LineSplitter(tty=tty)
    cursor = Cursor()
    lines: list[LogLine] = []
    try:
        while data := stream.read():
            lines += cursor.take(splitter.feed(data))
            # Each batch costs a trip to the event loop: a few big ones rather than one a read.
            while len(lines) >= HISTORY_BATCH:
                sink(lines[:HISTORY_BATCH])
                del lines[:HISTORY_BATCH]
    finally:
        stream.close()
    lines += cursor.take(splitter.flush())
    for start in range(0, len(lines), HISTORY_BATCH):
        sink(lines[start : start + HISTORY_BATCH])
    return cursor.last


def _open_whole_log(engine: Engine, container_id: str, params: dict) -> raw.RawStream:
    """A log to be read to its end (not followed), its socket set to hand over big blocks.

    The engine writes a log a few lines at a time, so a reader as quick as ours would get a
    few hundred bytes a read (50,000 reads for 20 MB, measured) and pay for each, and the
    engine for each wakeup. Nobody waits on the next line of a log read to its end: each
    read waits for HISTORY_READ_MIN bytes (SO_RCVLOWAT), or the log's end. Meanwhile the
    kernel goes on taking what comes off the socket's queue, so the engine never waits on it
    (tried with 100,000 one-byte lines, TTY and not)."""
    stream = raw.open_stream(engine, f"/containers/{container_id}/logs", params)
    with contextlib.suppress(OSError):
        stream.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, HISTORY_READ_MIN)
    return stream


async def history_into(viewer: Viewer, engine: Engine, container_id: str, **options) -> str:
    """Runs read_history in a thread of its own, putting its lines into `viewer`."""
    loop = asyncio.get_running_loop()

    async def put(prepared: list[Batch]) -> None:
        for batch in prepared:
            await viewer.put(batch)

    def sink(lines: list[LogLine]) -> None:
        if viewer.closed:
            raise ViewerGone
        # Measured and encoded here, in the reader's thread, not line by line on the loop.
        asyncio.run_coroutine_threadsafe(put(batches(lines)), loop).result()

    return await in_thread(read_history, engine, container_id, sink=sink, **options)


def wait_connected(upstream: LogUpstream, timeout: float = 5.0) -> bool:
    """Blocks (in a worker thread) until the upstream's first request was answered."""
    deadline = time.monotonic() + timeout
    while not upstream.connected.wait(0.05):
        if upstream.stopping.is_set() or time.monotonic() > deadline:
            return False
    return True


class Holder:
    """Keeps a live upstream's lines while history is still being read, so they can follow
    it in order; bounded like a viewer."""

    def __init__(self, limit: int = 100_000) -> None:
        self.items: list[LogLine] = []
        self.skipped = 0
        self.notices: list[dict] = []
        self.limit = limit

    def offer(self, items: list[LogLine]) -> None:
        room = self.limit - len(self.items)
        self.items += items[: max(room, 0)]
        self.skipped += max(len(items) - room, 0)

    def notice(self, **message) -> None:
        self.notices.append(message)


class Tagger:
    """Tags one container's lines with its index among a merged view's containers."""

    def __init__(self, target: Viewer, index: int) -> None:
        self.target = target
        self.index = index

    def offer(self, items: list[LogLine]) -> None:
        self.target.offer([(*item, self.index) for item in items])

    def notice(self, **message) -> None:
        self.target.notice(container=self.index, **message)


@dataclass(frozen=True)
class LogSource:
    """A container whose log is shown."""

    id: str
    name: str
    tty: bool


# A merged view reads at most this many history lines of each container.
MERGED_TAIL = 5000


async def serve(
    viewer: Viewer,
    engine: Engine,
    sources: list[LogSource],
    *,
    tail: int | None,
    since: str | None,
    until: str | None,
    follow: bool,
    subscriptions: list[tuple[Upstream, object]],
) -> None:
    """Puts history then live lines of `sources` into `viewer`, with nothing lost or shown
    twice where they meet. `subscriptions` is kept up to date, for undoing when the viewer
    leaves, at any moment."""
    live = follow and not until
    merged = len(sources) > 1
    holders: list[Holder] = []
    if live:
        for source in sources:
            upstream = follow_container(engine, source.id, source.tty)
            holder = Holder()
            upstream.subscribe(holder)  # type: ignore[arg-type]
            subscriptions.append((upstream, holder))
            holders.append(holder)
        await asyncio.gather(*(engine_call(wait_connected, up) for up, _ in subscriptions))
    options = {"since": since, "until": until}
    if not merged:
        source = sources[0]
        last = await history_into(viewer, engine, source.id, tty=source.tty, tail=tail, **options)
        lasts = [last]
    else:
        lasts = await _merged_history(viewer, engine, sources, tail=tail, **options)
    if not live:
        viewer.notice(state="ended", notice="End of the log.")
        return
    # Before what the upstreams said meanwhile (say, that the container stopped), which is newer.
    viewer.notice(state="live", notice="Following.")
    for index, ((upstream, holder), last) in enumerate(zip(subscriptions, lasts, strict=True)):
        target = Tagger(viewer, index) if merged else viewer
        cursor = Cursor(boundary=last)
        held = [line for line in holder.items if _after(cursor, line)]
        if held:
            target.offer(held)
        viewer.skipped += holder.skipped
        if cursor.boundary:
            # Lines the reader took before history ended may reach the loop only after this.
            target = Resumed(target, cursor)
        upstream.unsubscribe(holder)  # type: ignore[arg-type]
        upstream.subscribe(target)  # type: ignore[arg-type]
        subscriptions[index] = (upstream, target)
        for message in holder.notices:
            target.notice(**message)


class Resumed:
    """Passes an upstream's lines on to `target` once they are past the cursor's boundary:
    those before it were shown by the history read already."""

    def __init__(self, target: "Viewer | Tagger", cursor: Cursor) -> None:
        self.target = target
        self.cursor = cursor

    def offer(self, items: list[LogLine]) -> None:
        if self.cursor.boundary:
            items = [line for line in items if _after(self.cursor, line)]
        if items:
            self.target.offer(items)

    def notice(self, **message) -> None:
        self.target.notice(**message)


def _after(cursor: Cursor, line: LogLine) -> bool:
    key = timestamp_key(line[1])
    if cursor.boundary and key <= cursor.boundary:
        return False
    cursor.boundary = ""
    return True


async def _merged_history(viewer, engine, sources, *, tail, since, until) -> list[str]:
    """Each container's history, merged in time order and tagged with its index."""
    tail = MERGED_TAIL if tail is None else min(tail, MERGED_TAIL)

    def read(index: int, source: LogSource) -> tuple[list, str]:
        lines: list = []
        last = read_history(
            engine,
            source.id,
            tty=source.tty,
            tail=tail,
            since=since,
            until=until,
            sink=lambda batch: lines.extend((*line, index) for line in batch),
        )
        return lines, last

    results = await asyncio.gather(*(in_thread(read, i, s) for i, s in enumerate(sources)))
    merged = list(
        heapq.merge(*(lines for lines, _ in results), key=lambda line: timestamp_key(line[1]))
    )
    await viewer.put(merged)
    return [last for _, last in results]


def iter_log_text(engine: Engine, container_id: str, *, tty: bool, timestamps: bool):
    """The whole log as `docker logs [-t]` prints it, in blocks of bytes, for a download."""
    params = {"stdout": 1, "stderr": 1, "timestamps": 1, "tail": "all"}
    stream = _open_whole_log(engine, container_id, params)
    splitter = LineSplitter(tty=tty)
    try:
        while data := stream.read():
            yield _as_text(splitter.feed(data), timestamps)
    finally:
        stream.close()
    if rest := splitter.flush():
        yield _as_text(rest, timestamps)


def _as_text(pairs: list[tuple[int, str]], timestamps: bool) -> bytes:
    if timestamps:
        return "".join(f"{line}\n" for _, line in pairs).encode()
    return "".join(f"{line.partition(' ')[2]}\n" for _, line in pairs).encode()
