"""`docker logs`: the shared live follow of a container, and one-off history reads.

Lines always come from the engine with their timestamps, which order them across containers,
find where history ends and live lines begin, and let a lost connection resume with `since`
without showing a line twice.
"""

import asyncio
import contextlib
import heapq
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from containers_app.engine import Engine, EngineError, EngineUnavailable, NotFound, raw
from containers_app.engine import containers as engine_containers
from containers_app.streams.downloads import StreamedBody
from containers_app.streams.executor import engine_call, in_thread
from containers_app.streams.fanout import (
    FRAME_BYTES,
    VIEWER_BYTES,
    Batch,
    Registry,
    Upstream,
    Viewer,
    batches,
)
from containers_app.streams.frames import LineSplitter, timestamp_key

RETRY_SECONDS = (0.2, 0.5, 1, 2, 5)
HISTORY_BATCH_BYTES = 256 * 1024
# A log read to its end (not followed) is read in blocks of at least this much; see
# _whole_log.
HISTORY_READ_MIN = 64 * 1024
# At most this much of a log's history is kept for one viewer (its last part), whatever its
# tail: a tail=all of a huge log, or fifty containers merged, cannot grow the server more.
# The consumer passes the BERTH_LOG_HISTORY_BYTES setting; this is the default.
HISTORY_BYTES = 8 * 1024 * 1024
# A download goes to the client in blocks of about this much of the log.
DOWNLOAD_BYTES = 256 * 1024
# The engine writes a followed log a line at a time. After a read that did not fill the
# buffer, the reader waits this long before the next, so a flood arrives in blocks of many
# lines rather than as a read, a batch and an event loop wakeup per line or two.
GATHER_SECONDS = 0.002
# Under a flood, lines go to the event loop at least this often (viewers batch 25 ms anyway).
HAND_SECONDS = 0.02

# Lines travel in blocks (see frames.py): (stream, "stamp text\nstamp text..."), where every
# line starts with the engine's timestamp; merged views add the container's index.
LogBlock = tuple[int, str]
# The stamp given to a line whose start was never seen (nothing to inherit it from).
NO_STAMP = "0001-01-01T00:00:00Z"

registry = Registry()


class ViewerGone(Exception):
    """The viewer left while its history was being read: stop reading."""


def engine_since(timestamp: str) -> str:
    """An RFC 3339 timestamp as the `since` the logs endpoint takes: seconds.nanoseconds."""
    key = timestamp_key(timestamp)
    head, _, fraction = key.rstrip("Z").partition(".")
    seconds = int(datetime.fromisoformat(head + "+00:00").timestamp())
    return f"{seconds}.{fraction}"


NEWLINE = "\n"


class BlockFrames:
    """How log blocks travel to the browser: a JSON head, a newline, then the blocks' lines
    as they are, one after another, joined by newlines:

        {"blocks":[[stream, lines], ...],"skipped":n}\n<line>\n<line>...

    with a third member, the container's index, in each head of a merged view, and
    "skipped" only when lines were. Escaping the text for JSON cost more than all the rest
    of the way from the engine (5 ns a byte); a line's text holds no newline, so the browser
    cuts the text by the heads' line counts."""

    @staticmethod
    def encode(blocks: list) -> tuple[str, str]:
        heads = ",".join(
            f"[{b[0]},{b[1].count(NEWLINE) + 1}{'' if len(b) < 3 else f',{b[2]}'}]" for b in blocks
        )
        return heads, NEWLINE.join(b[1] for b in blocks)

    @staticmethod
    def frame(pieces: list[tuple[str, str]], skipped: int) -> str:
        pieces = [piece for piece in pieces if piece[0]]
        heads = ",".join(head for head, _ in pieces)
        body = NEWLINE.join(text for _, text in pieces)
        more = f',"skipped":{skipped}' if skipped else ""
        return f'{{"blocks":[{heads}]{more}}}\n{body}'


def is_stamp(word: str) -> bool:
    """Whether a line's first word is the engine's stamp, as 2026-11-27T21:02:09.1Z."""
    return (
        20 <= len(word) <= 30
        and word[10] == "T"
        and word[4] == "-"
        and word[-1] == "Z"
        and word[:4].isdigit()
    )


# Where a log reader is: the newest timestamp key seen of each stream (stdout, stderr).
Marks = dict[int, str]


@dataclass
class Cursor:
    """Where a reader is in a log, stream by stream: the engine stamps stdout and stderr
    apart, so their lines interleave slightly out of order, while each stream's stamps only
    grow. After a reconnect or a switch from history to live, a stream's lines up to its
    `boundary` were shown already and are skipped; once a later line of that stream comes,
    that stream is no longer filtered."""

    boundary: Marks = field(default_factory=dict)
    last: Marks = field(default_factory=dict)
    last_stamps: dict[int, str] = field(default_factory=dict)

    def resume(self) -> None:
        self.boundary = dict(self.last)

    @property
    def since(self) -> str:
        """Where a resumed read starts: at the stream that is furthest behind."""
        return min(self.last.values(), default="")

    def take(self, blocks: list[LogBlock]) -> list[LogBlock]:
        """The blocks past the boundary, each line stamped. Runs for every block of every
        log read, so it looks at a block's first and last lines only, unless filtering."""
        out: list[LogBlock] = []
        for stream, text in blocks:
            first, space, _ = text.partition(" ")
            if not space or "\n" in first or not is_stamp(first):
                # The rest of a line cut for its length (frames.MAX_LINE): it carries the
                # stamp of its start. Only a block's first line can be one.
                text = f"{self.last_stamps.get(stream) or NO_STAMP} {text}"
            if stream in self.boundary:
                text = self._past_boundary(stream, text)
                if text is None:
                    continue
            stamp = text[text.rfind("\n") + 1 :].partition(" ")[0]
            self.last_stamps[stream] = stamp
            key = timestamp_key(stamp)
            if key > self.last.get(stream, ""):
                self.last[stream] = key
            out.append((stream, text))
        return out

    def _past_boundary(self, stream: int, text: str) -> str | None:
        boundary = self.boundary[stream]
        lines = text.split("\n")
        for index, line in enumerate(lines):
            if timestamp_key(line.partition(" ")[0]) > boundary:
                del self.boundary[stream]
                return "\n".join(lines[index:])
        return None


class LogUpstream(Upstream):
    """Follows one container's log from now on, for every viewer of it in the process."""

    def __init__(self, key, registry: Registry, *, engine: Engine, container_id: str, tty: bool):
        super().__init__(key, registry)
        self.engine = engine
        self.container_id = container_id
        self.tty = tty
        self.cursor = Cursor()
        self.connected = threading.Event()
        self._stream: raw.RawStream | None = None
        self._end_marked = False

    def interrupt(self) -> None:
        if self._stream is not None:
            self._stream.close()

    def _params(self) -> dict:
        params = {"follow": 1, "stdout": 1, "stderr": 1, "timestamps": 1}
        if not self._end_marked:
            self._mark_end()
        if self.cursor.last:
            self.cursor.resume()
            params.update(since=engine_since(self.cursor.since), tail="all")
        else:
            # The log was empty when this upstream began: all of it is new.
            params.update(tail="all")
        return params

    def _mark_end(self) -> None:
        """Takes the log's last line as read, once, before the first follow: that follow
        starts after it, and so does a reconnect before the container writes again. (Following
        with tail=0 instead, such a reconnect would start from wherever the log had got to by
        then, and lose what was written while the connection was down.)"""
        params = {"stdout": 1, "stderr": 1, "timestamps": 1, "tail": 1}
        reads = _whole_log(self.engine, self.container_id, params, self.tty, self.cursor)
        with contextlib.closing(reads):
            for _ in reads:
                pass
        self._end_marked = True

    def run(self) -> None:
        failures = 0
        while not self.stopping.is_set():
            try:
                self._stream = engine_containers.container_logs_stream(
                    engine=self.engine, container_id=self.container_id, params=self._params()
                )
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
        pending: list[LogBlock] = []
        pending_bytes, since = 0, 0.0
        try:
            data = stream.read()
            while data:
                lines = self.cursor.take(splitter.feed(data))
                if lines:
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
        self._hand_lines(pending + self.cursor.take(splitter.flush()))

    def _hand_lines(self, lines: list[LogBlock]) -> bool:
        return all(self.hand(batch) for batch in batches(lines, frames=BlockFrames))

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
    key = (engine, "logs", container_id)
    upstream = registry.get(
        key,
        lambda: LogUpstream(key, registry, engine=engine, container_id=container_id, tty=tty),
    )
    return upstream  # type: ignore[return-value]


class HistoryWindow:
    """The last `max_bytes` of a history read, in blocks: older lines are let go as newer
    ones come, so a read holds at most that much however long the log. Sizes are counted in
    characters of text, which is bytes for ASCII."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.blocks: deque[LogBlock] = deque()
        self.bytes = 0
        self.cut = 0  # how much older text was let go

    def add(self, blocks: list[LogBlock]) -> None:
        for block in blocks:
            self.blocks.append(block)
            self.bytes += len(block[1])
        while self.bytes > self.max_bytes and self.blocks:
            stream, text = self.blocks[0]
            excess = self.bytes - self.max_bytes
            # Whole lines only: through the end of the line that holds the excess's end.
            end = text.find("\n", excess - 1) + 1 if excess < len(text) else 0
            dropped = end or len(text)
            if end and end < len(text):
                self.blocks[0] = (stream, text[end:])
            else:
                self.blocks.popleft()
            self.bytes -= dropped
            self.cut += dropped

    def take(self, limit: int) -> list[LogBlock]:
        """The oldest blocks kept, about `limit` of them, let go of here."""
        out: list[LogBlock] = []
        size = 0
        while self.blocks and size < limit:
            block = self.blocks.popleft()
            self.bytes -= len(block[1])
            size += len(block[1])
            out.append(block)
        return out

    def lines(self, index: int) -> Iterator[tuple[int, str, int]]:
        """The lines kept, one at a time, tagged with a merged view's container index; each
        block is let go of once split."""
        while self.blocks:
            stream, text = self.blocks.popleft()
            self.bytes -= len(text)
            for line in text.split("\n"):
                yield stream, line, index


def read_history(
    engine: Engine,
    container_id: str,
    *,
    tty: bool,
    tail: int | None,
    since: str | None = None,
    until: str | None = None,
    window: HistoryWindow,
    gone: Callable[[], bool] = lambda: False,
) -> Marks:
    """Reads the container's log up to now in a dedicated thread's time, keeping its last
    part in `window`; stops (ViewerGone) once `gone()`. Returns the newest timestamp key read
    of each stream."""
    params = {
        "stdout": 1,
        "stderr": 1,
        "timestamps": 1,
        "tail": "all" if tail is None else tail,
        "since": since,
        "until": until,
    }
    cursor = Cursor()
    with contextlib.closing(_whole_log(engine, container_id, params, tty, cursor)) as reads:
        for read, _ in reads:
            window.add(read)
            if gone():
                raise ViewerGone
    return cursor.last


def _whole_log(
    engine: Engine, container_id: str, params: dict, tty: bool, cursor: Cursor
) -> Iterator[tuple[list[LogBlock], int]]:
    """A log read to its end (not followed): each read's blocks, stamped and filtered by
    `cursor`, with the read's size in bytes; last, the lines left without a newline.

    _open_whole_log sets its socket to hand over big blocks. The engine writes a log a few
    lines at a time, so a reader as quick as ours would get a few hundred bytes a read (50,000
    reads for 20 MB, measured) and pay for each, and the engine for each wakeup. Nobody waits on the
    next line of a log read to its end: each read waits for HISTORY_READ_MIN bytes
    (SO_RCVLOWAT), or the log's end. Meanwhile the kernel goes on taking what comes off the
    socket's queue, so the engine never waits on it (tried with 100,000 one-byte lines, TTY
    and not)."""
    stream = _open_whole_log(engine, container_id, params)
    splitter = LineSplitter(tty=tty)
    try:
        while data := stream.read():
            yield cursor.take(splitter.feed(data)), len(data)
    finally:
        stream.close()
    yield cursor.take(splitter.flush()), 0


def _open_whole_log(engine: Engine, container_id: str, params: dict) -> raw.RawStream:
    """The log's response, its socket set to wake its reader per HISTORY_READ_MIN bytes."""
    stream = engine_containers.container_logs_stream(
        engine=engine, container_id=container_id, params=params
    )
    with contextlib.suppress(OSError, AttributeError):  # an SSH channel has no such option
        stream.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, HISTORY_READ_MIN)
    return stream


def _sink(viewer: Viewer) -> Callable[[list], None]:
    """A function that a reader's thread calls to put lines into `viewer`, waiting for room
    (and raising ViewerGone once it has left). Call it on the event loop."""
    loop = asyncio.get_running_loop()

    async def put(prepared: list[Batch]) -> None:
        for batch in prepared:
            await viewer.put(batch)

    def sink(blocks: list) -> None:
        if viewer.closed:
            raise ViewerGone
        # Measured and encoded here, in the reader's thread, not on the loop.
        asyncio.run_coroutine_threadsafe(put(batches(blocks, frames=BlockFrames)), loop).result()

    return sink


def _tell_cut(viewer: Viewer, windows: list[HistoryWindow], max_bytes: int) -> None:
    """Tells the viewer when its history is only the last part of what it asked for."""
    cut = sum(window.cut for window in windows)
    if cut:
        kept, left = f"{max_bytes / 2**20:.3g}", f"{cut / 2**20:.3g}"
        message = f"History cut to the last {kept} MB; {left} MB of older lines left out."
        viewer.notice(notice=message, cut=cut)


async def history_into(
    viewer: Viewer, engine: Engine, container_id: str, *, max_bytes: int, **options
) -> Marks:
    """Runs read_history in a thread of its own, then puts the last `max_bytes` of the
    history into `viewer`."""
    sink = _sink(viewer)
    window = HistoryWindow(max_bytes)

    def read() -> Marks:
        last = read_history(
            engine, container_id, window=window, gone=lambda: viewer.closed, **options
        )
        # Each hand-over costs a trip to the event loop: a few big ones, not one a read.
        while blocks := window.take(HISTORY_BATCH_BYTES):
            sink(blocks)
        return last

    last = await in_thread(read)
    _tell_cut(viewer, [window], max_bytes)
    return last


def wait_connected(upstream: LogUpstream, timeout: float = 5.0) -> bool:
    """Blocks (in a worker thread) until the upstream's first request was answered."""
    deadline = time.monotonic() + timeout
    while not upstream.connected.wait(0.05):
        if upstream.stopping.is_set() or time.monotonic() > deadline:
            return False
    return True


class Holder:
    """Keeps a live upstream's blocks while history is still being read, so they can follow
    it in order; bounded like a viewer."""

    def __init__(self, max_bytes: int = VIEWER_BYTES) -> None:
        self.items: list[LogBlock] = []
        self.bytes = 0
        self.skipped = 0
        self.notices: list[dict] = []
        self.max_bytes = max_bytes

    def offer(self, items: list[LogBlock]) -> None:
        for item in items:
            size = Viewer.size(item)
            if self.bytes + size > self.max_bytes:
                self.skipped += Viewer.count(item)
                continue
            self.items.append(item)
            self.bytes += size

    def notice(self, **message) -> None:
        self.notices.append(message)


class Tagger:
    """Tags one container's blocks with its index among a merged view's containers."""

    def __init__(self, target: Viewer, index: int) -> None:
        self.target = target
        self.index = index

    def offer(self, items: list[LogBlock]) -> None:
        self.target.offer([(stream, text, self.index) for stream, text in items])

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
# ... and this many containers' histories at a time: each read has about 1 MB of blocks in
# flight besides what it keeps (fifty at once held 40 MB more than the cap), and only one
# thread at a time cuts lines anyway, holding the GIL.
MERGED_READERS = 4


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
    history_bytes: int = HISTORY_BYTES,
) -> None:
    """Puts history (its last `history_bytes` at most) then live lines of `sources` into
    `viewer`, with nothing lost or shown twice where they meet. `subscriptions` is kept up to
    date, for undoing when the viewer leaves, at any moment."""
    live = follow and not until
    merged = len(sources) > 1
    holders: list[Holder] = []
    if live:
        for source in sources:
            upstream = follow_container(engine, source.id, source.tty)
            # The containers of a merged view share one viewer's worth of room.
            holder = Holder(max_bytes=VIEWER_BYTES // len(sources))
            upstream.subscribe(holder)  # type: ignore[arg-type]
            subscriptions.append((upstream, holder))
            holders.append(holder)
        await asyncio.gather(*(engine_call(wait_connected, up) for up, _ in subscriptions))
    options = {"since": since, "until": until, "max_bytes": history_bytes}
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
        cursor = Cursor(boundary=dict(last))
        held = cursor.take(holder.items)
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
    """Passes an upstream's blocks on to `target` once they are past the cursor's boundary:
    lines before it were shown by the history read already."""

    def __init__(self, target: "Viewer | Tagger", cursor: Cursor) -> None:
        self.target = target
        self.cursor = cursor

    def offer(self, items: list[LogBlock]) -> None:
        if self.cursor.boundary:
            items = self.cursor.take(items)
        if items:
            self.target.offer(items)

    def notice(self, **message) -> None:
        self.target.notice(**message)


async def _merged_history(viewer, engine, sources, *, tail, since, until, max_bytes) -> list[Marks]:
    """Each container's history (the last `max_bytes` of them all: an even share each),
    merged in time order line by line, each line a block of its own tagged with its
    container's index."""
    tail = MERGED_TAIL if tail is None else min(tail, MERGED_TAIL)
    windows = [HistoryWindow(max_bytes // len(sources)) for _ in sources]
    sink = _sink(viewer)

    def read(source: LogSource, window: HistoryWindow) -> Marks:
        options = {"tty": source.tty, "tail": tail, "since": since, "until": until}
        return read_history(engine, source.id, window=window, gone=lambda: viewer.closed, **options)

    def hand_over() -> None:
        # Merged and measured here, in a thread, a batch at a time: never all in one list.
        merged = heapq.merge(
            *(window.lines(index) for index, window in enumerate(windows)),
            key=lambda line: timestamp_key(line[1].partition(" ")[0]),
        )
        lines, size = [], 0
        for line in merged:
            lines.append(line)
            size += len(line[1])
            if size >= HISTORY_BATCH_BYTES:
                sink(lines)
                lines, size = [], 0
        if lines:
            sink(lines)

    readers = asyncio.Semaphore(MERGED_READERS)

    async def read_in_turn(source: LogSource, window: HistoryWindow) -> Marks:
        async with readers:
            return await in_thread(read, source, window)

    lasts = await asyncio.gather(*map(read_in_turn, sources, windows))
    await in_thread(hand_over)
    _tell_cut(viewer, windows, max_bytes)
    return list(lasts)


class LogText(StreamedBody):
    """The whole log as `docker logs [-t]` prints it, for a download: each block is about
    DOWNLOAD_BYTES of the log, cut into lines in the engine executor."""

    def __init__(self, engine: Engine, container_id: str, *, tty: bool, timestamps: bool):
        super().__init__()
        self.engine = engine
        self.container_id = container_id
        self.timestamps = timestamps
        self.splitter = LineSplitter(tty=tty)
        self.cursor = Cursor()

    def _read(self) -> bytes:
        if self.stream is None:
            params = {"stdout": 1, "stderr": 1, "timestamps": 1, "tail": "all"}
            self.stream = _open_whole_log(self.engine, self.container_id, params)
            if self.closed:  # closed on the loop while this was opening
                self.stream.close()
                return b""
        blocks: list[LogBlock] = []
        size = 0
        while size < DOWNLOAD_BYTES or not blocks:
            data = self.stream.read()
            if not data:
                self.ended = True
                blocks += self.cursor.take(self.splitter.flush())
                break
            blocks += self.cursor.take(self.splitter.feed(data))
            size += len(data)
        return _as_text(blocks, self.timestamps) if blocks else b""


# Each line's stamp and the space after it.
_STAMPS = re.compile(r"^[^ \n]* ", re.MULTILINE)


def _as_text(blocks: list[LogBlock], timestamps: bool) -> bytes:
    text = "".join(f"{block}\n" for _, block in blocks)
    return (text if timestamps else _STAMPS.sub("", text)).encode()
