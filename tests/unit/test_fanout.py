"""A viewer's bounded queue: credit, batching, dropping with a count, and notices in order."""

import asyncio
import json

import pytest

from containers_app.streams import fanout
from containers_app.streams.fanout import FRAME_BYTES, INITIAL_CREDIT, Viewer, batches
from containers_app.streams.logs import BlockFrames

STAMP = "2026-01-02T13:23:37.5Z"


def line(number: int, width: int = 10) -> tuple[int, str]:
    """A log block of one line, its number `width` digits wide."""
    return (1, f"2026-01-02T13:23:37.{number:09d}Z {number:0{width}d}")


def number(item: list) -> int:
    return int(item[1].partition(" ")[2])


class Socket:
    """What the pump sends, decoded, and a way to wait for it."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        self._sent = asyncio.Event()

    async def send(self, text: str) -> None:
        self.messages.append(json.loads(text))
        self._sent.set()

    @property
    def frames(self) -> list[dict]:
        return [m for m in self.messages if "lines" in m]

    @property
    def lines(self) -> list[list]:
        return [item for m in self.frames for item in m["lines"]]

    async def until(self, condition, timeout: float = 5.0) -> None:
        async def wait() -> None:
            while not condition():
                self._sent.clear()
                await self._sent.wait()

        await asyncio.wait_for(wait(), timeout)

    async def quiet(self, seconds: float = 0.2) -> None:
        """Waits, for checking that nothing more is sent."""
        await asyncio.sleep(seconds)


@pytest.fixture
async def pumped():
    """A viewer whose pump runs into a Socket; both closed afterwards."""
    started = []

    def start(viewer: Viewer, *, ack: bool = False) -> Socket:
        socket = Socket()

        async def send(text: str) -> None:
            await socket.send(text)
            if ack:
                viewer.ack(1)

        started.append((viewer, asyncio.create_task(viewer.pump(send))))
        return socket

    yield start
    for viewer, task in started:
        viewer.close()
        await asyncio.wait_for(task, 2)


async def test_a_viewer_sends_offered_lines_as_a_frame_in_order(pumped):
    viewer = Viewer()
    socket = pumped(viewer)
    viewer.offer([line(n) for n in range(5)])
    await socket.until(lambda: len(socket.lines) == 5)
    assert socket.frames == [{"lines": [list(line(n)) for n in range(5)]}]


async def test_lines_offered_close_together_go_out_in_one_frame(pumped):
    viewer = Viewer()
    socket = pumped(viewer)
    for n in range(50):
        viewer.offer([line(n)])
    await socket.until(lambda: len(socket.lines) == 50)
    assert len(socket.frames) == 1


async def test_a_viewer_without_credit_stops_sending_until_it_acknowledges(pumped):
    viewer = Viewer()
    socket = pumped(viewer)
    # 2 MB of lines: far more than eight frames of 64 KiB.
    viewer.offer([line(n, width=1000) for n in range(2000)])
    await socket.until(lambda: len(socket.frames) == INITIAL_CREDIT)
    await socket.quiet()
    assert len(socket.frames) == INITIAL_CREDIT
    assert viewer.credit == 0

    viewer.ack(3)
    await socket.until(lambda: len(socket.frames) == INITIAL_CREDIT + 3)
    await socket.quiet()
    assert len(socket.frames) == INITIAL_CREDIT + 3

    # Credit never grows past the first allowance, whatever a client claims.
    viewer.ack(1000)
    assert viewer.credit == INITIAL_CREDIT
    viewer.ack(-5)
    assert viewer.credit == INITIAL_CREDIT


async def test_a_viewer_that_keeps_acknowledging_receives_every_line_in_order(pumped):
    viewer = Viewer()
    socket = pumped(viewer, ack=True)
    viewer.offer([line(n, width=1000) for n in range(2000)])
    await socket.until(lambda: len(socket.lines) == 2000)
    assert [number(item) for item in socket.lines] == list(range(2000))
    assert all("skipped" not in frame for frame in socket.frames)


async def test_frames_hold_at_most_about_64_kib_of_lines(pumped):
    viewer = Viewer()
    socket = pumped(viewer)
    items = [line(n, width=1000) for n in range(300)]
    viewer.offer(items)
    await socket.until(lambda: len(socket.lines) == 300)
    assert len(socket.frames) > 1
    for frame in socket.frames:
        # A frame closes after the line that takes it past 64 KiB.
        sizes = [Viewer.size(tuple(item)) for item in frame["lines"]]
        assert sum(sizes[:-1]) < FRAME_BYTES
        assert len(json.dumps(frame)) < FRAME_BYTES + 2 * 1024 + 64 * len(sizes)
    assert [tuple(item) for item in socket.lines] == items


async def test_a_viewer_over_its_byte_budget_drops_lines_and_says_how_many(pumped):
    viewer = Viewer(max_bytes=10 * Viewer.size(line(0)))
    viewer.offer([line(n) for n in range(25)])
    assert len(viewer.items) == 10
    assert viewer.skipped == 15
    viewer.offer([line(n) for n in range(25, 30)])
    assert viewer.skipped == 20

    socket = pumped(viewer)
    await socket.until(lambda: len(socket.frames) == 1)
    assert socket.frames[0]["skipped"] == 20
    assert [number(item) for item in socket.lines] == list(range(10))
    assert viewer.skipped == 0

    # The count is reported once; the next frame carries only its own drops.
    viewer.offer([line(n) for n in range(30, 32)])
    await socket.until(lambda: len(socket.frames) == 2)
    assert "skipped" not in socket.frames[1]


async def test_skipped_lines_are_reported_even_when_no_line_fits(pumped):
    viewer = Viewer(max_bytes=10)
    socket = pumped(viewer)
    viewer.offer([line(1), line(2)])
    await socket.until(lambda: len(socket.frames) == 1)
    assert socket.frames == [{"lines": [], "skipped": 2}]


async def test_one_viewers_budget_never_holds_more_than_its_bytes(pumped):
    viewer = Viewer(max_bytes=64 * 1024)
    for n in range(10_000):
        viewer.offer([line(n, width=200)])
    assert viewer.bytes <= 64 * 1024
    assert len(viewer.items) + viewer.skipped == 10_000


async def test_put_waits_for_room_instead_of_dropping(pumped):
    size = Viewer.size(line(0))
    viewer = Viewer(max_bytes=10 * size)
    putting = asyncio.create_task(viewer.put([line(n) for n in range(100)]))
    await asyncio.sleep(0.1)
    assert not putting.done()
    assert len(viewer.items) == 10
    assert viewer.skipped == 0

    socket = pumped(viewer, ack=True)
    await asyncio.wait_for(putting, 10)
    await socket.until(lambda: len(socket.lines) == 100)
    assert [number(item) for item in socket.lines] == list(range(100))
    assert all("skipped" not in frame for frame in socket.frames)


async def test_put_stops_waiting_when_the_viewer_closes():
    viewer = Viewer(max_bytes=Viewer.size(line(0)))
    putting = asyncio.create_task(viewer.put([line(n) for n in range(5)]))
    await asyncio.sleep(0.05)
    assert not putting.done()
    viewer.close()
    await asyncio.wait_for(putting, 2)
    assert len(viewer.items) == 1


async def test_an_item_bigger_than_the_budget_is_put_when_the_queue_is_empty():
    viewer = Viewer(max_bytes=10)
    await asyncio.wait_for(viewer.put([line(1, width=1000)]), 2)
    assert len(viewer.items) == 1


async def test_notices_come_after_the_lines_queued_before_them(pumped):
    viewer = Viewer()
    viewer.offer([line(n) for n in range(3)])
    viewer.notice(state="ended", notice="The container stopped (exit code 0).", exit_code=0)
    socket = pumped(viewer)
    await socket.until(lambda: len(socket.messages) == 2)
    assert "lines" in socket.messages[0]
    assert socket.messages[1] == {
        "state": "ended",
        "notice": "The container stopped (exit code 0).",
        "exit_code": 0,
    }


async def test_a_notice_waits_while_lines_before_it_wait_for_credit(pumped):
    viewer = Viewer(credit=0)
    viewer.offer([line(1)])
    viewer.notice(state="reconnecting", notice="Engine unavailable")
    socket = pumped(viewer)
    await socket.quiet()
    assert socket.messages == []
    viewer.ack(1)
    await socket.until(lambda: len(socket.messages) == 2)
    assert [list(m) for m in socket.messages] == [["lines"], ["state", "notice"]]


async def test_a_notice_alone_goes_out_at_once_without_credit(pumped):
    viewer = Viewer(credit=0)
    socket = pumped(viewer)
    viewer.notice(state="live", notice="Following.")
    await socket.until(lambda: len(socket.messages) == 1)
    assert socket.messages == [{"state": "live", "notice": "Following."}]


async def test_a_closed_viewers_pump_ends(pumped):
    viewer = Viewer()
    socket = Socket()
    task = asyncio.create_task(viewer.pump(socket.send))
    await asyncio.sleep(0.01)
    viewer.close()
    await asyncio.wait_for(task, 1)


# --- Upstream -----------------------------------------------------------------------------


class Numbers(fanout.Upstream):
    """An upstream whose reader thread hands out `count` numbers in batches of ten."""

    def __init__(self, key, registry, count: int) -> None:
        super().__init__(key, registry)
        self.count = count

    def run(self) -> None:
        for start in range(0, self.count, 10):
            batch = [line(n) for n in range(start, min(start + 10, self.count))]
            if not self.hand(batch):
                return
        self.tell(state="ended", notice="done")


async def test_an_upstream_fans_its_lines_out_to_every_viewer(pumped):
    registry = fanout.Registry()
    upstream = registry.get("numbers", lambda: Numbers("numbers", registry, 1000))
    assert registry.get("numbers", lambda: pytest.fail("made twice")) is upstream
    fast, slow = Viewer(), Viewer(max_bytes=20 * Viewer.size(line(0)))
    upstream.subscribe(fast)
    upstream.subscribe(slow)
    socket = pumped(fast, ack=True)
    # `slow` has no pump at all: it neither reads nor acknowledges.
    await socket.until(lambda: any("notice" in m for m in socket.messages))
    assert [number(item) for item in socket.lines] == list(range(1000))
    assert len(slow.items) == 20
    assert slow.skipped == 980
    await asyncio.to_thread(upstream._thread.join, 2)
    assert len(registry) == 0


# --- log blocks ---------------------------------------------------------------------------


def unpack(text: str) -> tuple[dict, list[list]]:
    """A log frame as logs.js reads it: the JSON head, then the lines cut by its counts."""
    head, _, body = text.partition("\n")
    message = json.loads(head)
    texts = iter(body.split("\n"))
    lines = [
        [stream, next(texts), *index]
        for stream, count, *index in message["blocks"]
        for _ in range(count)
    ]
    assert next(texts, None) is None  # no text left over
    return message, lines


async def test_log_blocks_travel_as_a_json_head_and_their_text_unescaped(pumped):
    viewer = Viewer(frames=BlockFrames)
    sent: list[str] = []

    async def send(text: str) -> None:
        sent.append(text)

    task = asyncio.create_task(viewer.pump(send))
    tricky = 'quotes " and \\ backslash, \x1b[31mcolour\x1b[0m, tab\tand 日本 🚀'
    viewer.offer(
        batches([(1, f"{STAMP} a\n{STAMP} {tricky}"), (2, f"{STAMP} err")], frames=BlockFrames)
    )
    viewer.offer([(1, f"{STAMP} merged", 3)])
    while len(sent) < 1 or sum(len(unpack(t)[1]) for t in sent) < 4:
        await asyncio.sleep(0.01)
    viewer.close()
    await asyncio.wait_for(task, 2)

    lines = [line for text in sent for line in unpack(text)[1]]
    assert lines == [
        [1, f"{STAMP} a"],
        [1, f"{STAMP} {tricky}"],
        [2, f"{STAMP} err"],
        [1, f"{STAMP} merged", 3],
    ]
    assert sent[0].split("\n", 1)[0].startswith('{"blocks":[[1,2],[2,1]')


async def test_lines_skipped_in_dropped_blocks_are_counted_as_lines():
    viewer = Viewer(max_bytes=200, frames=BlockFrames)
    five = (1, "\n".join(f"{STAMP} {n}" for n in range(5)))

    viewer.offer([(1, f"{STAMP} fits"), five, five])

    assert viewer.skipped == 10
    assert BlockFrames.frame([BlockFrames.encode(list(viewer.items))], viewer.skipped) == (
        f'{{"blocks":[[1,1]],"skipped":10}}\n{STAMP} fits'
    )
