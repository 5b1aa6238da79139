"""One upstream per (engine, object, kind) per process, fanned out to bounded viewers.

An upstream reads the engine in a dedicated thread and hands batches to the event loop with
at most a few batches in flight, so a fast engine cannot flood the loop. Each viewer has its
own bounded queue and credit: the browser acknowledges frames it has drawn, and a viewer that
falls behind loses its own lines (and is told how many) without slowing anyone else.
"""

import asyncio
import contextlib
import json
import threading
from collections import deque
from collections.abc import Callable, Hashable
from typing import Any

BATCH_SECONDS = 0.025
FRAME_BYTES = 64 * 1024
VIEWER_BYTES = 4 * 1024 * 1024
INITIAL_CREDIT = 8
LINGER_SECONDS = 5.0
IN_FLIGHT = 8
_encode = json.JSONEncoder(separators=(",", ":")).encode

# Reader threads cut logs into lines while holding the GIL: the process's switch interval is
# shortened for them once at start (compat.set_switch_interval, from containers_app.apps).


class JsonFrames:
    """How items travel by default: a frame is {"lines": [item, ...], "skipped": n}.

    A format encodes items into a piece once (in a reader's thread, for a Batch) and joins
    pieces into a frame (on the loop, per viewer)."""

    @staticmethod
    def encode(items: list) -> str:
        return _encode(items)[1:-1]  # without the brackets, to join into a frame

    @staticmethod
    def frame(pieces: list[str], skipped: int) -> str:
        more = f',"skipped":{skipped}' if skipped else ""
        return f'{{"lines":[{",".join(p for p in pieces if p)}]{more}}}'


class Batch(list):
    """Items handed alike to every viewer of an upstream: measured and encoded once, in the
    reader's thread, instead of item by item by each viewer on the event loop. A viewer with
    room for all of it queues it whole."""

    __slots__ = ("encoded", "size")

    def __init__(self, items: list, size: int | None = None, frames=JsonFrames) -> None:
        super().__init__(items)
        self.size = sum(map(Viewer.size, items)) if size is None else size
        self.encoded = frames.encode(items)


def batches(items: list, limit: int = FRAME_BYTES, frames=JsonFrames) -> list[Batch]:
    """`items` cut into Batches of about `limit` bytes, so a batch fills about one frame."""
    out, start, size = [], 0, 0
    for index, item in enumerate(items):
        size += Viewer.size(item)
        if size >= limit:
            out.append(Batch(items[start : index + 1], size, frames))
            start, size = index + 1, 0
    if start < len(items):
        out.append(Batch(items[start:], size, frames))
    return out


class Viewer:
    """One websocket's share of one or more streams."""

    def __init__(
        self,
        *,
        max_bytes: int = VIEWER_BYTES,
        credit: int = INITIAL_CREDIT,
        batch_seconds: float = BATCH_SECONDS,
        frames=JsonFrames,
    ) -> None:
        """`batch_seconds`: how long a frame waits for more items; 0 where the producer
        batches already. `frames`: how its items are encoded (Batches offered to it must
        have been encoded the same way)."""
        self.frames = frames
        self.items: deque[Any] = deque()
        self.bytes = 0
        self.max_bytes = max_bytes
        self.skipped = 0
        self.credit = credit
        self.notices: deque[dict] = deque(maxlen=64)
        self.closed = False
        self.batch_seconds = batch_seconds
        self._wakeup = asyncio.Event()
        self._room = asyncio.Event()

    @staticmethod
    def size(item: Any) -> int:
        """About what an item costs in memory and on the wire. A log block is a tuple whose
        text is its second member (see streams/logs.py); other items are small."""
        if isinstance(item, tuple):
            return len(item[1]) + 40
        return item.size if isinstance(item, Batch) else 64

    @staticmethod
    def count(item: Any) -> int:
        """How many lines an item is, for saying how many were skipped."""
        if isinstance(item, tuple):
            return item[1].count("\n") + 1
        return 1

    def offer(self, items: list) -> None:
        """Adds live items; what does not fit is dropped and counted."""
        if isinstance(items, Batch) and items and self.bytes + items.size <= self.max_bytes:
            self.items.append(items)
            self.bytes += items.size
            self._wakeup.set()
            return
        for index, item in enumerate(items):
            size = self.size(item)
            if self.bytes + size > self.max_bytes:
                self.skipped += sum(map(self.count, items[index:]))
                break
            self.items.append(item)
            self.bytes += size
        self._wakeup.set()

    async def put(self, items: list) -> None:
        """Adds history items, waiting for room rather than dropping any. A Batch goes in
        whole (once there is room for it, or the queue is empty)."""
        if isinstance(items, Batch) and items:
            while self.bytes + items.size > self.max_bytes and self.items and not self.closed:
                self._room.clear()
                await self._room.wait()
            if not self.closed:
                self.items.append(items)
                self.bytes += items.size
                self._wakeup.set()
            return
        for item in items:
            size = self.size(item)
            while self.bytes + size > self.max_bytes and self.items and not self.closed:
                self._room.clear()
                await self._room.wait()
            if self.closed:
                return
            self.items.append(item)
            self.bytes += size
            self._wakeup.set()

    def notice(self, **message: Any) -> None:
        self.notices.append(message)
        self._wakeup.set()

    def ack(self, frames: int = 1) -> None:
        waiting = self.credit <= 0
        self.credit = min(self.credit + max(frames, 0), INITIAL_CREDIT)
        if waiting:  # only a pump out of credit waits for this; most acks wake no one
            self._wakeup.set()

    def close(self) -> None:
        self.closed = True
        self._wakeup.set()
        self._room.set()

    def _take_frame(self) -> str:
        """The next frame's text, of at most about FRAME_BYTES of items."""
        pieces: list = []
        items: list = []  # single items in a row, encoded together
        size = 0
        while self.items and size < FRAME_BYTES:
            item = self.items.popleft()
            if isinstance(item, Batch):
                if items:
                    pieces.append(self.frames.encode(items))
                    items = []
                pieces.append(item.encoded)
                size += item.size
            else:
                items.append(item)
                size += self.size(item)
        if items:
            pieces.append(self.frames.encode(items))
        self.bytes -= size
        self._room.set()
        skipped, self.skipped = self.skipped, 0
        return self.frames.frame(pieces, skipped)

    async def pump(self, send: Callable[[str], Any]) -> None:
        """Sends batched frames while there is credit, until the viewer is closed. Notices
        go out once the lines before them have."""
        while not self.closed:
            if (self.items or self.skipped) and self.credit > 0:
                if self.bytes < FRAME_BYTES and self.batch_seconds:
                    await asyncio.sleep(self.batch_seconds)  # let a batch gather
                self.credit -= 1
                await send(self._take_frame())
            elif self.notices and not self.items:
                await send(json.dumps(self.notices.popleft()))
            else:
                self._wakeup.clear()
                await self._wakeup.wait()


class Upstream:
    """A stream from the engine, read by a thread, shared by the viewers subscribed to it."""

    def __init__(self, key: Hashable, registry: "Registry") -> None:
        self.key = key
        self.registry = registry
        self.viewers: set[Viewer] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stopping = threading.Event()
        self._slots = threading.Semaphore(IN_FLIGHT)
        self._linger: asyncio.TimerHandle | None = None
        self._thread: threading.Thread | None = None

    # Event loop side.
    def subscribe(self, viewer: Viewer) -> None:
        if self._linger:
            self._linger.cancel()
            self._linger = None
        self.viewers.add(viewer)
        if self._thread is None:
            self.loop = asyncio.get_running_loop()
            self._thread = threading.Thread(
                target=self._run, name=f"berth-stream-{self.key}", daemon=True
            )
            self._thread.start()

    def unsubscribe(self, viewer: Viewer) -> None:
        self.viewers.discard(viewer)
        if not self.viewers and self.loop and not self.stopping.is_set():
            self._linger = self.loop.call_later(LINGER_SECONDS, self._stop_if_unused)

    def _stop_if_unused(self) -> None:
        if not self.viewers:
            self.stop()

    def stop(self) -> None:
        self.stopping.set()
        self.registry.forget(self)
        self.interrupt()

    def deliver(self, items: list) -> None:
        for viewer in self.viewers:
            viewer.offer(items)

    def announce(self, message: dict) -> None:
        for viewer in self.viewers:
            viewer.notice(**message)

    # Reader thread side.
    def interrupt(self) -> None:
        """Wakes the reader thread when it should stop (close its socket)."""

    def run(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        try:
            self.run()
        finally:
            self.stopping.set()
            self.registry.forget(self)

    def hand(self, items: list) -> bool:
        """Gives a batch to the event loop; blocks while too many are in flight."""
        while not self._slots.acquire(timeout=0.5):
            if self.stopping.is_set():
                return False
        assert self.loop is not None
        try:
            self.loop.call_soon_threadsafe(self._deliver_and_release, items)
        except RuntimeError:  # the loop is closed
            self.stopping.set()
            return False
        return True

    def _deliver_and_release(self, items: list) -> None:
        try:
            self.deliver(items)
        finally:
            self._slots.release()

    def tell(self, **message: Any) -> None:
        """Tells every viewer something from the reader thread (reconnecting, ended)."""
        if self.loop and not self.loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self.announce, message)


class Registry:
    """The process's upstreams by key: a new viewer joins the running one."""

    def __init__(self) -> None:
        self._upstreams: dict[Hashable, Upstream] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, factory: Callable[[], Upstream]) -> Upstream:
        with self._lock:
            upstream = self._upstreams.get(key)
            if upstream is None or upstream.stopping.is_set():
                upstream = factory()
                self._upstreams[key] = upstream
            return upstream

    def forget(self, upstream: Upstream) -> None:
        with self._lock:
            if self._upstreams.get(upstream.key) is upstream:
                del self._upstreams[upstream.key]

    def __len__(self) -> int:
        return len(self._upstreams)
