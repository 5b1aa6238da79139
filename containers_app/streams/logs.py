"""`docker logs`: the shared live follow of a container, and one-off history reads.

Lines always come from the engine with their timestamps, which order them across containers,
find where history ends and live lines begin, and let a lost connection resume with `since`
without showing a line twice.
"""

import asyncio
import heapq
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from containers_app.engine import Engine, EngineError, EngineUnavailable, NotFound, raw
from containers_app.engine import containers as engine_containers
from containers_app.streams.executor import engine_call, in_thread
from containers_app.streams.fanout import Registry, Upstream, Viewer
from containers_app.streams.frames import LineSplitter, split_timestamp, timestamp_key

RING_LINES = 1000
RETRY_SECONDS = (0.2, 0.5, 1, 2, 5)
HISTORY_BATCH = 2000

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


def looks_like_timestamp(text: str) -> bool:
    """Whether a line starts with the engine's RFC 3339 stamp, as 2026-11-27T21:02:09.1Z."""
    return len(text) >= 20 and text[4] == "-" and text[10] == "T" and text[:4].isdigit()


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
        out: list[LogLine] = []
        for stream, line in pairs:
            stamp, text = split_timestamp(line)
            if not looks_like_timestamp(stamp):
                # The rest of a line cut for its length: it has the timestamp of its start.
                stamp, text = self.last_stamp, line
            self.last_stamp = stamp
            key = timestamp_key(stamp)
            if self.boundary:
                if key <= self.boundary:
                    continue
                self.boundary = ""
            out.append((stream, stamp, text))
            if key > self.last:
                self.last = key
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
        splitter = LineSplitter(tty=self.tty)
        try:
            while data := stream.read():
                lines = self.cursor.take(splitter.feed(data))
                if lines:
                    self.ring.extend(lines)
                    if not self.hand(lines):
                        return
        except OSError:
            pass  # the engine went away; _ended() finds out why
        finally:
            stream.close()
        lines = self.cursor.take(splitter.flush())
        if lines:
            self.ring.extend(lines)
            self.hand(lines)

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
    stream = raw.open_stream(engine, f"/containers/{container_id}/logs", params)
    splitter = LineSplitter(tty=tty)
    cursor = Cursor()
    try:
        while data := stream.read():
            lines = cursor.take(splitter.feed(data))
            for start in range(0, len(lines), HISTORY_BATCH):
                sink(lines[start : start + HISTORY_BATCH])
    finally:
        stream.close()
    if lines := cursor.take(splitter.flush()):
        sink(lines)
    return cursor.last


async def history_into(viewer: Viewer, engine: Engine, container_id: str, **options) -> str:
    """Runs read_history in a thread of its own, putting its lines into `viewer`."""
    loop = asyncio.get_running_loop()

    def sink(lines: list[LogLine]) -> None:
        if viewer.closed:
            raise ViewerGone
        asyncio.run_coroutine_threadsafe(viewer.put(lines), loop).result()

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
        upstream.unsubscribe(holder)  # type: ignore[arg-type]
        upstream.subscribe(target)  # type: ignore[arg-type]
        subscriptions[index] = (upstream, target)
        for message in holder.notices:
            target.notice(**message)


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
    stream = raw.open_stream(engine, f"/containers/{container_id}/logs", params)
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
