"""`docker logs` in the browser against the private engine: the websocket, the pages and the
download. Every test here reads a real container's log; nothing of Docker is mocked."""

import asyncio
import contextlib
import html
import itertools
import json
import shlex
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.contrib.auth.models import AnonymousUser
from django.core.asgi import get_asgi_application

from containers_app.engine import containers as engine_containers
from containers_app.engine import raw
from containers_app.streams import logs as log_streams
from containers_app.streams.fanout import INITIAL_CREDIT, VIEWER_BYTES
from containers_app.streams.frames import STDERR, STDOUT, timestamp_key
from dashboard.routing import websocket_urlpatterns
from tests.conftest import HOME_TEAM, TEAM_LABEL, TEST_IMAGE, unique, wait_on_condition
from tests.engine.second_engine import SecondEngine
from tests.engine.sockets import upstream_of

TEXT = "é 日本 🚀"
# A sequence number every few milliseconds, for checking nothing is lost or doubled.
COUNTER = ["sh", "-c", "i=0; while true; do echo $i; i=$((i+1)); usleep 3000; done"]


def until_touched(then: str, before: str = "") -> list[str]:
    """A command that prints `before`, waits for /tmp/go (made by `touch`), then runs `then`."""
    return ["sh", "-c", f"{before} while [ ! -f /tmp/go ]; do usleep 20000; done; {then}"]


# A socket loads its user's teams on a thread of its own, which sees only what the test has
# committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- helpers ------------------------------------------------------------------------------


def unpack(text: str) -> tuple[dict, list[list]]:
    """A frame as logs.js reads it: its JSON head, and its lines as [stream, timestamp,
    text] (and the container's index, in a merged view)."""
    head, _, body = text.partition("\n")
    message = json.loads(head)
    lines: list[list] = []
    texts = iter(body.split("\n"))
    for stream, count, *index in message.get("blocks", ()):
        for line in itertools.islice(texts, count):
            stamp, _, rest = line.partition(" ")
            lines.append([stream, stamp, rest, *index])
    return message, lines


class LogSocket:
    """A browser's log websocket: collects lines and notices, and acknowledges each frame it
    receives (unless told not to) as logs.js does once it has drawn it."""

    def __init__(self, path: str, *, user, ack: bool = True, application=None, headers=None):
        self.communicator = WebsocketCommunicator(
            application or URLRouter(websocket_urlpatterns), path, headers=headers
        )
        if user is not None:
            self.communicator.scope["user"] = user
        self.ack = ack
        self.containers: list | None = None
        self.frames: list[dict] = []
        self.lines: list[list] = []
        self.notices: list[dict] = []
        self.close_code: int | None = None

    async def connect(self) -> tuple[bool, object]:
        return await self.communicator.connect(timeout=10)

    async def receive(self, timeout: float) -> dict | None:
        output = await self.communicator.receive_output(timeout)
        if output["type"] == "websocket.close":
            self.close_code = output.get("code", 1000)
            return None
        message, lines = unpack(output["text"])
        if "blocks" in message:
            self.frames.append(message)
            self.lines += lines
            if self.ack:
                await self.communicator.send_json_to({"ack": 1})
        elif "containers" in message:
            self.containers = message["containers"]
        else:
            self.notices.append(message)
        return message

    async def until(self, condition, timeout: float = 30) -> None:
        """Receives until `condition()` holds; fails (saying what came) if it does not."""
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.close_code is not None:
                raise AssertionError(f"not met in {timeout} s: {self.summary()}")
            try:
                await self.receive(remaining)
            except TimeoutError:
                raise AssertionError(f"not met in {timeout} s: {self.summary()}") from None

    async def until_state(self, state: str, timeout: float = 30) -> dict:
        await self.until(lambda: any(n.get("state") == state for n in self.notices), timeout)
        return next(n for n in self.notices if n.get("state") == state)

    async def quiet(self, seconds: float) -> bool:
        """True if nothing comes for `seconds`."""
        return await self.communicator.receive_nothing(timeout=seconds, interval=0.05)

    async def settle(self, seconds: float = 0.5) -> None:
        """Receives whatever comes until nothing has for `seconds`."""
        while self.close_code is None and not await self.quiet(seconds):
            await self.receive(5)

    @property
    def texts(self) -> list[str]:
        return [line[2] for line in self.lines]

    def numbers(self) -> list[int]:
        return [int(text) for text in self.texts if text.isdigit()]

    def summary(self) -> str:
        return (
            f"{len(self.lines)} lines (last {self.texts[-3:]}), notices {self.notices}, "
            f"closed {self.close_code}"
        )

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.communicator.disconnect(timeout=5)


@pytest.fixture
async def sockets(viewer_user):
    """Opens LogSockets (connected, past the containers message) and closes them after; by
    default as a viewer of the home team, whose containers `make` makes."""
    opened: list[LogSocket] = []

    async def open_socket(path: str, **options) -> LogSocket:
        socket = LogSocket(path, **{"user": viewer_user, **options})
        opened.append(socket)
        connected, _ = await socket.connect()
        assert connected
        await socket.until(lambda: socket.containers is not None or socket.close_code, 15)
        return socket

    yield open_socket
    for socket in opened:
        await socket.close()


def logs_path(container_id: str, **query) -> str:
    params = "&".join(f"{key}={value}" for key, value in query.items())
    return f"/ws/containers/{container_id}/logs/" + (f"?{params}" if params else "")


def consecutive(numbers: list[int]) -> bool:
    return bool(numbers) and numbers == list(range(numbers[0], numbers[0] + len(numbers)))


def gaps(numbers: list[int]) -> list[tuple[int, int]]:
    """Where a sequence skips or repeats: (number, the one after it)."""
    return [(a, b) for a, b in itertools.pairwise(numbers) if b != a + 1]


async def touch_go(docker_api, container_id: str) -> None:
    """Lets a container made with until_touched() go on."""

    def run() -> None:
        exec_id = docker_api.exec_create(container_id, ["touch", "/tmp/go"])["Id"]
        docker_api.exec_start(exec_id)

    await asyncio.to_thread(run)


def log_lines(docker_api, container_id: str, **options) -> list[str]:
    return docker_api.logs(container_id, **options).decode().splitlines()


def wait_for_log(docker_api, container_id: str, count: int) -> None:
    wait_on_condition(lambda: len(log_lines(docker_api, container_id)) >= count)


def tty_container(make, command) -> dict:
    """A running container with a terminal (Made.container only makes ones without)."""
    created = make.api.create_container(
        TEST_IMAGE, command=command, name=unique("c"), tty=True, labels={TEAM_LABEL: HOME_TEAM}
    )
    make.containers.append(created["Id"])
    make.api.start(created["Id"])
    return make.api.inspect_container(created["Id"])


def rfc3339(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def unix(stamp: str) -> float:
    return datetime.fromisoformat(timestamp_key(stamp)[:26] + "+00:00").timestamp()


# --- following ----------------------------------------------------------------------------


async def test_it_follows_lines_printed_after_the_viewer_connected(make, docker_api, sockets):
    c = make.container(
        command=until_touched("echo after-1; echo after-2; sleep 600", "echo before;")
    )
    wait_for_log(docker_api, c["Id"], 1)
    socket = await sockets(logs_path(c["Id"], tail="all", follow=1))
    assert socket.containers == [[c["Id"], c["Name"].lstrip("/")]]
    await socket.until_state("live")
    assert socket.texts == ["before"]

    await touch_go(docker_api, c["Id"])
    await socket.until(lambda: socket.texts == ["before", "after-1", "after-2"])
    assert all(line[0] == STDOUT for line in socket.lines)
    assert await socket.quiet(0.3)


async def test_tail_gives_exactly_the_last_lines_then_follows(make, docker_api, sockets):
    c = make.container(command=until_touched("echo 101; sleep 600", "seq 1 100;"))
    wait_for_log(docker_api, c["Id"], 100)
    socket = await sockets(logs_path(c["Id"], tail=7, follow=1))
    await socket.until_state("live")
    assert socket.texts == [str(n) for n in range(94, 101)]

    await touch_go(docker_api, c["Id"])
    await socket.until(lambda: socket.texts[-1:] == ["101"])
    assert socket.texts == [str(n) for n in range(94, 102)]


async def test_tail_without_follow_gives_the_last_lines_and_ends(make, docker_api, sockets):
    c = make.container(command="sh -c 'seq 1 50; sleep 600'")
    wait_for_log(docker_api, c["Id"], 50)
    socket = await sockets(logs_path(c["Id"], tail=3))
    ended = await socket.until_state("ended")
    assert socket.texts == ["48", "49", "50"]
    assert ended["notice"] == "End of the log."
    assert "error" not in ended


async def test_tail_all_gives_the_whole_log_and_tail_0_none_of_it(make, docker_api, sockets):
    c = make.container(command="sh -c 'seq 1 1200; sleep 600'")
    wait_for_log(docker_api, c["Id"], 1200)
    whole = await sockets(logs_path(c["Id"], tail="all"))
    await whole.until_state("ended")
    assert whole.texts == [str(n) for n in range(1, 1201)]
    none = await sockets(logs_path(c["Id"], tail=0))
    await none.until_state("ended")
    assert none.lines == []


async def test_since_and_until_take_rfc_3339_times(make, docker_api, sockets):
    c = make.container(command="sh -c 'echo early; sleep 1; echo late; sleep 600'")
    wait_for_log(docker_api, c["Id"], 2)
    stamps = [line.split(" ")[0] for line in log_lines(docker_api, c["Id"], timestamps=True)]
    between = rfc3339((unix(stamps[0]) + unix(stamps[1])) / 2)

    later = await sockets(logs_path(c["Id"], tail="all", since=between))
    await later.until_state("ended")
    assert later.texts == ["late"]

    earlier = await sockets(logs_path(c["Id"], tail="all", until=between))
    await earlier.until_state("ended")
    assert earlier.texts == ["early"]
    # The timestamps the viewer gets are the engine's own.
    assert earlier.lines[0][1] == stamps[0]


async def test_since_and_until_take_durations_ago(make, docker_api, sockets):
    c = make.container(command="sh -c 'echo one; echo two; sleep 600'")
    wait_for_log(docker_api, c["Id"], 2)
    recent = await sockets(logs_path(c["Id"], tail="all", since="10m"))
    await recent.until_state("ended")
    assert recent.texts == ["one", "two"]

    old = await sockets(logs_path(c["Id"], tail="all", until="10m"))
    await old.until_state("ended")
    assert old.lines == []

    hour = await sockets(logs_path(c["Id"], tail="all", since="1.5h"))
    await hour.until_state("ended")
    assert hour.texts == ["one", "two"]


async def test_since_takes_unix_seconds(make, docker_api, sockets):
    c = make.container(command="sh -c 'echo early; sleep 1; echo late; sleep 600'")
    wait_for_log(docker_api, c["Id"], 2)
    stamps = [line.split(" ")[0] for line in log_lines(docker_api, c["Id"], timestamps=True)]
    between = (unix(stamps[0]) + unix(stamps[1])) / 2
    socket = await sockets(logs_path(c["Id"], tail="all", since=f"{between:.3f}"))
    await socket.until_state("ended")
    assert socket.texts == ["late"]


async def test_until_means_no_following_even_when_follow_is_asked(make, docker_api, sockets):
    c = make.container(command=COUNTER)
    wait_for_log(docker_api, c["Id"], 20)
    cutoff = time.time()
    socket = await sockets(logs_path(c["Id"], tail="all", follow=1, until=rfc3339(cutoff)))
    ended = await socket.until_state("ended")
    assert ended["notice"] == "End of the log."
    assert socket.numbers() == list(range(len(socket.numbers())))
    assert all(unix(line[1]) <= cutoff + 0.001 for line in socket.lines)
    # Nothing follows the end, though the container goes on printing.
    assert await socket.quiet(0.5)
    assert not any(n.get("state") == "live" for n in socket.notices)


@pytest.mark.parametrize("tty", [False, True], ids=["plain", "tty"])
async def test_multi_byte_text_arrives_intact(make, docker_api, sockets, tty):
    command = ["sh", "-c", f"printf '%s\\n' '{TEXT}' 'second {TEXT}'; sleep 600"]
    c = tty_container(make, command) if tty else make.container(command=command)
    wait_for_log(docker_api, c["Id"], 2)
    socket = await sockets(logs_path(c["Id"], tail="all", follow=1))
    await socket.until_state("live")
    # A terminal ends lines with \r\n; the viewer gets the text alone.
    assert socket.texts == [TEXT, f"second {TEXT}"]


async def test_stdout_and_stderr_are_told_apart(make, docker_api, sockets):
    c = make.container(command="sh -c 'echo to-out; echo to-err >&2; echo out-again; sleep 600'")
    wait_for_log(docker_api, c["Id"], 3)
    socket = await sockets(logs_path(c["Id"], tail="all", follow=1))
    await socket.until_state("live")
    streams = {line[2]: line[0] for line in socket.lines}
    assert streams == {"to-out": STDOUT, "to-err": STDERR, "out-again": STDOUT}


async def test_a_terminal_container_has_only_one_stream(make, docker_api, sockets):
    c = tty_container(make, ["sh", "-c", "echo to-out; echo to-err >&2; sleep 600"])
    wait_for_log(docker_api, c["Id"], 2)
    socket = await sockets(logs_path(c["Id"], tail="all", follow=1))
    await socket.until_state("live")
    assert sorted(socket.texts) == ["to-err", "to-out"]
    assert {line[0] for line in socket.lines} == {STDOUT}


async def test_a_terminal_containers_live_lines_are_followed(make, docker_api, sockets):
    c = tty_container(make, until_touched(f"echo 'live {TEXT}'; sleep 600", "echo before;"))
    wait_for_log(docker_api, c["Id"], 1)
    socket = await sockets(logs_path(c["Id"], tail="all", follow=1))
    await socket.until_state("live")
    await touch_go(docker_api, c["Id"])
    await socket.until(lambda: socket.texts == ["before", f"live {TEXT}"])


# --- endings ------------------------------------------------------------------------------


async def test_a_container_removed_while_followed_ends_the_stream_saying_so(
    make, docker_api, sockets
):
    c = make.container(command="sh -c 'echo hello; sleep 600'")
    wait_for_log(docker_api, c["Id"], 1)
    socket = await sockets(logs_path(c["Id"], tail="all", follow=1))
    await socket.until_state("live")
    await asyncio.to_thread(docker_api.remove_container, c["Id"], force=True)
    ended = await socket.until_state("ended")
    assert "removed" in ended["notice"]
    assert socket.texts == ["hello"]


async def test_a_container_that_exits_ends_the_stream_with_its_exit_code(make, docker_api, sockets):
    c = make.container(command=until_touched("echo bye; exit 3", "echo hello;"))
    wait_for_log(docker_api, c["Id"], 1)
    socket = await sockets(logs_path(c["Id"], tail="all", follow=1))
    await socket.until_state("live")
    await touch_go(docker_api, c["Id"])
    ended = await socket.until_state("ended")
    assert ended["exit_code"] == 3
    assert "exit code 3" in ended["notice"]
    assert socket.texts == ["hello", "bye"]
    assert socket.notices[-1] is ended


async def test_following_a_container_that_already_exited_ends_with_its_exit_code(
    make, docker_api, sockets
):
    c = make.container(command="sh -c 'echo one; echo two; exit 5'")
    wait_on_condition(lambda: not docker_api.inspect_container(c["Id"])["State"]["Running"])
    socket = await sockets(logs_path(c["Id"], tail="all", follow=1))
    await socket.until_state("ended")
    await socket.settle()
    assert socket.texts == ["one", "two"]
    # What the page is left saying is that it ended, not that it is following.
    assert socket.notices[-1]["state"] == "ended"
    assert socket.notices[-1]["exit_code"] == 5


# --- merged view --------------------------------------------------------------------------


async def test_a_merged_view_tags_lines_with_their_container_in_time_order(
    make, docker_api, sockets
):
    def printer(name: str, pause: str) -> list[str]:
        history = f"sleep {pause}; for i in 0 1 2 3; do echo {name}$i; sleep 0.1; done;"
        return until_touched(f"echo {name}-live; sleep 600", history)

    a = make.container(command=printer("a", "0"))
    b = make.container(command=printer("b", "0.05"))
    wait_for_log(docker_api, a["Id"], 4)
    wait_for_log(docker_api, b["Id"], 4)
    socket = await sockets(f"/ws/logs/?c={a['Id']}&c={b['Id']}&tail=all&follow=1")
    assert socket.containers == [[a["Id"], a["Name"].lstrip("/")], [b["Id"], b["Name"].lstrip("/")]]
    await socket.until_state("live")
    assert len(socket.lines) == 8
    assert all(len(line) == 4 for line in socket.lines)
    keys = [timestamp_key(line[1]) for line in socket.lines]
    assert keys == sorted(keys)
    assert all(line[2].startswith("ab"[line[3]]) for line in socket.lines)
    assert sorted(socket.texts) == [f"{n}{i}" for n in "ab" for i in range(4)]

    await touch_go(docker_api, b["Id"])
    await socket.until(lambda: "b-live" in socket.texts)
    await touch_go(docker_api, a["Id"])
    await socket.until(lambda: "a-live" in socket.texts)
    live = {line[2]: line[3] for line in socket.lines[8:]}
    assert live == {"b-live": 1, "a-live": 0}


async def test_a_merged_view_tags_a_containers_ending_with_its_index(make, docker_api, sockets):
    a = make.container(command="sh -c 'echo a; sleep 600'")
    b = make.container(command=until_touched("exit 4", "echo b;"))
    wait_for_log(docker_api, b["Id"], 1)
    socket = await sockets(f"/ws/logs/?c={a['Id']}&c={b['Id']}&tail=all&follow=1")
    await socket.until_state("live")
    await touch_go(docker_api, b["Id"])
    ended = await socket.until_state("ended")
    assert ended["container"] == 1
    assert ended["exit_code"] == 4


# --- history and live joined --------------------------------------------------------------


async def test_history_and_live_lines_join_with_none_lost_or_doubled(make, docker_api, sockets):
    c = make.container(command=COUNTER)
    wait_for_log(docker_api, c["Id"], 100)
    first = await sockets(logs_path(c["Id"], tail="all", follow=1))
    await first.until(lambda: len(first.numbers()) > 400)
    # A second viewer joins the running upstream midway through its own history.
    second = await sockets(logs_path(c["Id"], tail="all", follow=1))
    await first.until(lambda: len(first.numbers()) > 800)
    await second.until(lambda: second.numbers()[-1:] >= first.numbers()[-1:])
    for socket in (first, second):
        numbers = socket.numbers()
        assert numbers[0] == 0
        assert not gaps(numbers), gaps(numbers)[:5]
        assert not any("skipped" in frame for frame in socket.frames)
        assert [n["state"] for n in socket.notices] == ["live"]


async def test_a_viewer_that_joins_with_a_tail_continues_from_it_without_a_gap(
    make, docker_api, sockets
):
    c = make.container(command=COUNTER)
    wait_for_log(docker_api, c["Id"], 200)
    socket = await sockets(logs_path(c["Id"], tail=50, follow=1))
    await socket.until(lambda: len(socket.numbers()) > 300)
    numbers = socket.numbers()
    assert numbers[0] >= 150
    assert consecutive(numbers)


# --- history capped in bytes --------------------------------------------------------------


def numbered(count: int) -> str:
    """Shell that prints `count` lines of about 4 KB each: its number, then 4,000 zeros."""
    loop = f'while [ $i -le {count} ]; do echo "$i $pad"; i=$((i+1)); done;'
    return f"pad=$(printf %04000d 0); i=1; {loop}"


def number(line: list) -> int:
    return int(line[2].split(" ", 1)[0])


def text_size(lines: list[list]) -> int:
    """What lines cost as the server holds them: stamp, space and text."""
    return sum(len(line[1]) + 1 + len(line[2]) for line in lines)


async def test_a_long_history_is_cut_to_its_last_bytes_and_the_viewer_told(
    make, docker_api, sockets, settings
):
    settings.LOG_HISTORY_BYTES = 2**20
    c = make.container(command=until_touched("echo live; sleep 600", numbered(800)))
    wait_for_log(docker_api, c["Id"], 800)  # 3.2 MB
    socket = await sockets(logs_path(c["Id"], tail="all", follow=1))
    await socket.until_state("live")

    numbers = [number(line) for line in socket.lines]
    assert numbers == list(range(numbers[0], 801))  # the newest lines, whole
    assert 200 < len(numbers) < 300
    assert text_size(socket.lines) <= 2**20
    cut = next(notice for notice in socket.notices if "cut" in notice)
    assert cut["notice"].startswith("History cut to the last 1 MB; 2.")
    assert cut["cut"] + text_size(socket.lines) > 3_200_000
    # Followed on from there as ever.
    await touch_go(docker_api, c["Id"])
    await socket.until(lambda: socket.texts[-1:] == ["live"])
    assert len(socket.lines) == len(numbers) + 1


async def test_a_merged_history_shares_the_cap_between_its_containers(
    make, docker_api, sockets, settings
):
    settings.LOG_HISTORY_BYTES = 2**20
    made = [make.container(command=["sh", "-c", numbered(400) + " sleep 600"]) for _ in "abc"]
    for c in made:
        wait_for_log(docker_api, c["Id"], 400)  # 1.6 MB each
    socket = await sockets("/ws/logs/?" + "&".join(f"c={c['Id']}" for c in made) + "&tail=all")
    await socket.until_state("ended")

    assert text_size(socket.lines) <= 2**20
    for index in range(3):
        numbers = [number(line) for line in socket.lines if line[3] == index]
        assert numbers == list(range(numbers[0], 401))
        assert 60 < len(numbers) < 100  # a third of the cap each
    keys = [timestamp_key(line[1]) for line in socket.lines]
    assert keys == sorted(keys)
    assert any(notice.get("cut") for notice in socket.notices)


async def test_a_history_within_the_cap_is_whole_and_not_said_to_be_cut(
    make, docker_api, sockets, settings
):
    settings.LOG_HISTORY_BYTES = 2**20
    c = make.container(command=["sh", "-c", numbered(200) + " sleep 600"])
    wait_for_log(docker_api, c["Id"], 200)  # 0.8 MB
    socket = await sockets(logs_path(c["Id"], tail="all"))
    await socket.until_state("ended")
    assert [number(line) for line in socket.lines] == list(range(1, 201))
    assert not any("cut" in notice for notice in socket.notices)


# --- slow viewers -------------------------------------------------------------------------


async def test_a_viewer_that_never_acknowledges_holds_bounded_memory_and_slows_nobody(
    make, docker_api, sockets
):
    # 6 MB of lines at once once both viewers are there, then a slow tick.
    flood = (
        "yes 0123456789012345678901234567890123456789012345678901234567890123456789"
        "01234567890123456789012345678 | head -n 60000; echo flood-done; "
        "i=0; while true; do echo tick-$i; i=$((i+1)); usleep 50000; done"
    )
    c = make.container(command=until_touched(flood))
    stalled = await sockets(logs_path(c["Id"], tail=0, follow=1), ack=False)
    await stalled.until_state("live")
    upstream = upstream_of(log_streams.registry, "logs", c["Id"])
    assert upstream is not None
    (held,) = upstream.viewers
    reading = await sockets(logs_path(c["Id"], tail=0, follow=1))
    await reading.until_state("live")
    assert len(upstream.viewers) == 2

    await touch_go(docker_api, c["Id"])
    await reading.until(lambda: "tick-5" in reading.texts, timeout=60)
    assert "flood-done" in reading.texts
    await stalled.until(lambda: len(stalled.frames) == INITIAL_CREDIT)
    assert await stalled.quiet(0.5)
    assert len(stalled.frames) == INITIAL_CREDIT

    # The server kept at most the viewer's budget for it and dropped (and counted) the rest.
    assert held.credit == 0
    assert held.bytes <= VIEWER_BYTES
    assert held.skipped > 0

    # Acknowledging again brings its lines back, with the count of what it missed.
    await stalled.communicator.send_json_to({"ack": INITIAL_CREDIT})
    await stalled.until(lambda: any("skipped" in frame for frame in stalled.frames))
    missed = sum(frame.get("skipped", 0) for frame in stalled.frames)
    assert missed > 0
    assert len(stalled.lines) < 60_000


# --- refusals -----------------------------------------------------------------------------


async def test_an_anonymous_user_is_refused(make):
    c = make.container()
    socket = LogSocket(logs_path(c["Id"]), user=AnonymousUser())
    assert await socket.connect() == (False, 4403)


async def test_an_inactive_user_is_refused(make):
    c = make.container()
    inactive = SimpleNamespace(is_authenticated=True, is_active=False, is_staff=False, pk=1)
    socket = LogSocket(logs_path(c["Id"]), user=inactive)
    assert await socket.connect() == (False, 4403)


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("tail=abc", "Tail is a number"),
        ("tail=-1", "Tail is a number"),
        ("since=garbage", "Write a time as"),
        ("until=yesterday", "Write a time as"),
    ],
)
async def test_a_bad_query_gets_an_error_notice_and_close_4400(make, viewer_user, query, reason):
    c = make.container()
    socket = LogSocket(logs_path(c["Id"]) + "?" + query, user=viewer_user)
    assert (await socket.connect())[0]
    await socket.until(lambda: socket.close_code is not None, 10)
    assert socket.close_code == 4400
    (notice,) = socket.notices
    assert notice["state"] == "ended"
    assert reason in notice["error"]
    assert socket.lines == []
    await socket.close()


@pytest.mark.parametrize(
    "path",
    [
        "/ws/logs/",
        "/ws/logs/?c=not%20a%20name",
        "/ws/logs/?" + "&".join(f"c=c{n}" for n in range(51)),
    ],
    ids=["none-named", "bad-name", "too-many"],
)
async def test_a_badly_named_container_gets_an_error_notice_and_close_4400(viewer_user, path):
    socket = LogSocket(path, user=viewer_user)
    assert (await socket.connect())[0]
    await socket.until(lambda: socket.close_code is not None, 10)
    assert socket.close_code == 4400
    (notice,) = socket.notices
    assert notice["state"] == "ended"
    assert notice["error"]
    await socket.close()


async def test_an_unknown_container_gets_an_error_notice_and_close_4404(viewer_user):
    socket = LogSocket("/ws/containers/berthtest-no-such-container/logs/", user=viewer_user)
    assert (await socket.connect())[0]
    await socket.until(lambda: socket.close_code is not None, 10)
    assert socket.close_code == 4404
    (notice,) = socket.notices
    assert notice["state"] == "ended"
    assert notice["error"] == "No such container: berthtest-no-such-container"
    await socket.close()


async def test_an_unknown_container_among_merged_ones_is_not_found(make, viewer_user):
    c = make.container()
    socket = LogSocket(f"/ws/logs/?c={c['Id']}&c=berthtest-no-such-container", user=viewer_user)
    assert (await socket.connect())[0]
    await socket.until(lambda: socket.close_code is not None, 10)
    assert socket.close_code == 4404
    assert "berthtest-no-such-container" in socket.notices[0]["error"]
    assert socket.lines == []
    await socket.close()


# --- through the whole ASGI application ---------------------------------------------------


def signed_in_cookie(client) -> bytes:
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def full_application_socket(container_id: str, *, origin: bytes, cookie: bytes | None):
    from dashboard.asgi import application

    headers = [(b"origin", origin), (b"host", b"127.0.0.1:8000")]
    if cookie:
        headers.append((b"cookie", cookie))
    return LogSocket(
        logs_path(container_id, tail="all"), user=None, application=application, headers=headers
    )


@pytest.mark.django_db(transaction=True)
async def test_a_signed_in_browser_on_the_same_origin_gets_the_log(make, docker_api, viewer_client):
    c = make.container(command="sh -c 'echo through-asgi; sleep 600'")
    wait_for_log(docker_api, c["Id"], 1)
    socket = full_application_socket(
        c["Id"], origin=b"http://127.0.0.1:8000", cookie=signed_in_cookie(viewer_client)
    )
    try:
        assert (await socket.connect())[0]
        await socket.until_state("ended")
        assert socket.containers == [[c["Id"], c["Name"].lstrip("/")]]
        assert socket.texts == ["through-asgi"]
    finally:
        await socket.close()


@pytest.mark.django_db(transaction=True)
async def test_a_websocket_from_a_foreign_origin_is_refused(make, viewer_client):
    c = make.container()
    socket = full_application_socket(
        c["Id"], origin=b"http://evil.example.com", cookie=signed_in_cookie(viewer_client)
    )
    connected, _ = await socket.connect()
    assert not connected


@pytest.mark.django_db(transaction=True)
async def test_a_browser_without_a_session_is_refused_through_the_application(make):
    c = make.container()
    socket = full_application_socket(c["Id"], origin=b"http://127.0.0.1:8000", cookie=None)
    assert await socket.connect() == (False, 4403)


# --- pages --------------------------------------------------------------------------------


def test_the_log_page_of_a_container_renders_with_its_socket(make, admin_client):
    c = make.container()
    response = admin_client.get(f"/containers/{c['Id']}/logs/")
    assert response.status_code == 200
    content = response.content.decode()
    assert f'data-socket="/ws/containers/{c["Id"]}/logs/"' in content
    assert c["Name"].lstrip("/") in content
    assert f'href="/containers/{c["Id"]}/logs/download/"' in content


def test_the_log_page_takes_a_containers_name_too(make, viewer_client):
    c = make.container()
    response = viewer_client.get(f"/containers/{c['Name'].lstrip('/')}/logs/")
    assert response.status_code == 200
    assert f'data-socket="/ws/containers/{c["Id"]}/logs/"' in response.content.decode()


def test_the_merged_log_page_renders_with_a_socket_naming_each_container(make, viewer_client):
    a, b = make.container(), make.container()
    response = viewer_client.get(f"/logs/?c={a['Id']}&c={b['Id'][:12]}")
    assert response.status_code == 200
    content = response.content.decode()
    socket = content.split('data-socket="', 1)[1].split('"', 1)[0]
    assert socket.startswith("/ws/logs/?")
    assert sorted(socket.split("?", 1)[1].replace("&amp;", "&").split("&")) == sorted(
        [f"c={a['Id']}", f"c={b['Id']}"]
    )
    assert a["Name"].lstrip("/") in content
    assert b["Name"].lstrip("/") in content


@pytest.mark.parametrize(
    "query", ["", "?c=not-an-id", "?c=abc", "?c=" + "&c=".join(f"{n:012x}" for n in range(51))]
)
def test_the_merged_log_page_answers_400_to_bad_ids(admin_client, query):
    assert admin_client.get(f"/logs/{query}").status_code == 400


def test_the_merged_log_page_answers_404_to_an_unknown_id(make, admin_client):
    c = make.container()
    assert admin_client.get(f"/logs/?c={c['Id']}&c={'0' * 64}").status_code == 404


def test_the_merged_log_page_of_a_project_shows_its_compose_command_quoted(make, viewer_client):
    project = f"{unique('p')} it's; rm -rf ~"
    make.container(labels={"com.docker.compose.project": project})

    response = viewer_client.get("/logs/", {"project": project})

    assert response.status_code == 200
    command = html.unescape(response.content.decode()).split('id="logs-command">', 1)[1]
    command = command.split("</code>", 1)[0]
    assert command == f"docker compose -p {shlex.quote(project)} logs --follow --tail 500"
    assert shlex.split(command)[3] == project


def test_the_merged_log_page_of_a_selection_shows_a_docker_logs_each(make, viewer_client):
    a, b = make.container(), make.container()

    response = viewer_client.get(f"/logs/?c={a['Id']}&c={b['Id']}")

    command = html.unescape(response.content.decode()).split('id="logs-command">', 1)[1]
    lines = command.split("</code>", 1)[0].removesuffix(" & wait").split(" & ")
    assert sorted(lines) == sorted(
        f"docker logs --follow --tail 500 {c['Name'].lstrip('/')}" for c in (a, b)
    )


def test_log_pages_of_an_unknown_container_answer_404(admin_client):
    assert admin_client.get("/containers/berthtest-no-such-container/logs/").status_code == 404
    assert (
        admin_client.get("/containers/berthtest-no-such-container/logs/download/").status_code
        == 404
    )


def test_log_pages_want_a_signed_in_user(make, client, db):
    c = make.container()
    for page in [f"/containers/{c['Id']}/logs/", f"/containers/{c['Id']}/logs/download/"]:
        response = client.get(page)
        assert response.status_code == 302
        assert "/login/" in response["Location"]


def download(client, path: str):
    response = client.get(path)
    assert response.status_code == 200
    assert response.is_async  # see test_a_download_streams_a_large_log_without_holding_it

    async def body() -> bytes:
        return b"".join([part async for part in response.streaming_content])

    return response, asyncio.run(body()).decode()


def test_the_download_is_the_whole_log_as_text(make, docker_api, viewer_client):
    # Pauses, as stdout and stderr are copied apart and may be logged out of order.
    c = make.container(
        command=[
            "sh",
            "-c",
            f"seq 1 3000; sleep 0.2; echo '{TEXT}' >&2; sleep 0.2; printf 'no end'",
        ]
    )
    wait_on_condition(lambda: not docker_api.inspect_container(c["Id"])["State"]["Running"])
    response, body = download(viewer_client, f"/containers/{c['Id']}/logs/download/")
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{c["Name"].lstrip("/")}.log"'
    assert body == "".join(f"{n}\n" for n in range(1, 3001)) + f"{TEXT}\nno end\n"
    assert body.encode() == docker_api.logs(c["Id"]) + b"\n"


def test_the_download_with_timestamps_prefixes_each_line_as_docker_logs_t(
    make, docker_api, viewer_client
):
    c = make.container(command=["sh", "-c", f"seq 1 5; echo '{TEXT}'; sleep 600"])
    wait_for_log(docker_api, c["Id"], 6)
    _, body = download(viewer_client, f"/containers/{c['Id']}/logs/download/?timestamps=1")
    assert body == docker_api.logs(c["Id"], timestamps=True).decode()
    lines = body.splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == ["1", "2", "3", "4", "5", TEXT]
    assert all(line.split(" ", 1)[0].endswith("Z") for line in lines)


def test_the_download_of_a_terminal_container_has_plain_line_ends(make, docker_api, viewer_client):
    c = tty_container(make, ["sh", "-c", f"echo one; echo '{TEXT}'; sleep 600"])
    wait_for_log(docker_api, c["Id"], 2)
    _, body = download(viewer_client, f"/containers/{c['Id']}/logs/download/")
    assert body == f"one\n{TEXT}\n"


def zeros(lines: int) -> list[str]:
    """A command that prints `lines` lines of 4,000 zeros, quickly, and exits."""
    return ["sh", "-c", f"yes $(printf %04000d 0) | head -n {lines}"]


class AsgiClient:
    """Django's ASGI handler as daphne drives it, for one GET signed in as `client`'s user:
    counts the body it is sent without keeping it, and goes away after `leave_after` body
    messages if told to."""

    def __init__(self, client, path: str, *, leave_after: int | None = None) -> None:
        name = django_settings.SESSION_COOKIE_NAME
        cookie = f"{name}={client.cookies[name].value}"
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"testserver"), (b"cookie", cookie.encode())],
            "client": ("127.0.0.1", 40000),
            "server": ("testserver", 80),
        }
        self.leave_after = leave_after
        self.status: int | None = None
        self.messages = self.size = self.newlines = self.not_zeros = 0
        self.asked = False
        self.gone = asyncio.Event()

    async def receive(self) -> dict:
        if not self.asked:
            self.asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            return
        body = message.get("body", b"")
        self.messages += 1
        self.size += len(body)
        self.newlines += body.count(b"\n")
        self.not_zeros += len(body.strip(b"0\n"))
        if self.messages == self.leave_after:
            self.gone.set()
        await asyncio.sleep(0)  # a server lets other work run while it writes

    async def run(self, timeout: float = 120) -> None:
        await asyncio.wait_for(get_asgi_application()(self.scope, self.receive, self.send), timeout)


# Lines of 4,000 zeros and a newline: 104 MB.
BIG_LOG_LINES = 26_000


@pytest.mark.django_db(transaction=True)  # the handler's threads see the session
async def test_a_download_streams_a_large_log_without_holding_it(make, docker_api, viewer_client):
    c = make.container(command=zeros(BIG_LOG_LINES))
    await asyncio.to_thread(docker_api.wait, c["Id"], timeout=120)
    client = AsgiClient(viewer_client, f"/containers/{c['Id']}/logs/download/")
    get_asgi_application()  # set up before measuring

    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        await client.run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert client.status == 200
    assert client.size == BIG_LOG_LINES * 4001
    assert client.newlines == BIG_LOG_LINES
    assert client.not_zeros == 0
    # Under ASGI a synchronous iterator is read whole first: the server grew by the log.
    grown = (peak - before) / 2**20
    assert grown < 8, f"the server grew by {grown:.1f} MB sending a 104 MB log"


@pytest.mark.django_db(transaction=True)
async def test_a_download_closes_the_engines_response_when_the_client_goes_away(
    make, docker_api, viewer_client, monkeypatch
):
    c = make.container(command=zeros(5000))
    await asyncio.to_thread(docker_api.wait, c["Id"], timeout=60)
    opened: list[raw.RawStream] = []
    read = 0
    open_stream = engine_containers.container_logs_stream

    def recorded(*args, **kwargs) -> raw.RawStream:
        stream = open_stream(*args, **kwargs)
        opened.append(stream)
        read_block = stream.read

        def counted() -> bytes:
            nonlocal read
            data = read_block()
            read += len(data)
            return data

        stream.read = counted  # type: ignore[method-assign]
        return stream

    monkeypatch.setattr(engine_containers, "container_logs_stream", recorded)
    client = AsgiClient(viewer_client, f"/containers/{c['Id']}/logs/download/", leave_after=1)
    await client.run(timeout=30)

    assert client.status == 200
    assert len(opened) == 1
    assert opened[0].sock.fileno() == -1  # closed
    # Closed soon after the client left, not once the log was read to its end (20 MB).
    assert 0 < client.size <= read < 2 * 2**20


# --- the engine restarting mid-stream -----------------------------------------------------


@pytest.fixture(scope="module")
def restarting_engine() -> Iterator[SecondEngine]:
    """A second private engine with live-restore, so its containers run on while it restarts."""
    engine = SecondEngine("logs", live_restore=True)
    with engine.running():
        yield engine


async def test_a_followed_log_survives_an_engine_restart_with_nothing_lost_or_doubled(
    restarting_engine, settings, sockets, admin_user
):
    settings.DOCKER_HOST = restarting_engine.address
    c = restarting_engine.container(
        ["sh", "-c", "i=0; while true; do echo $i; i=$((i+1)); usleep 10000; done"], start=True
    )
    # The second engine's container is of no team: a superuser's.
    socket = await sockets(logs_path(c["Id"], tail="all", follow=1), user=admin_user)
    await socket.until(lambda: len(socket.numbers()) > 50)

    restart = asyncio.create_task(asyncio.to_thread(restarting_engine.restart))
    await socket.until_state("reconnecting", timeout=60)
    await asyncio.wait_for(restart, 120)
    reconnected = len(socket.notices)
    await socket.until(
        lambda: any(n.get("notice", "").startswith("Reconnected") for n in socket.notices),
        timeout=60,
    )
    before = socket.numbers()[-1]
    await socket.until(lambda: socket.numbers()[-1] > before + 100, timeout=60)

    with restarting_engine.api() as api:
        assert api.inspect_container(c["Id"])["State"]["Running"]
    numbers = socket.numbers()
    assert numbers[0] == 0
    assert not gaps(numbers), gaps(numbers)[:5]
    states = [n["state"] for n in socket.notices]
    assert states[0] == "live"
    assert "reconnecting" in states[:reconnected]
    assert states[-1] == "live"
    assert "ended" not in states


async def test_a_log_followed_again_after_a_lost_connection_keeps_what_came_meanwhile(
    make, engine, monkeypatch
):
    """The connection is lost before the container writes again, and it writes while Berth
    is away: once back, the follow starts where the log ended, not where it has got to."""
    from asgiref.sync import sync_to_async

    container = await sync_to_async(make.container)(
        command=until_touched("echo during; sleep 600", before="echo before;")
    )
    await sync_to_async(wait_on_condition)(
        lambda: b"before" in make.api.logs(container["Id"]), timeout=30
    )
    received: list = []

    class Viewer:
        def offer(self, items: list) -> None:
            received.extend(items)

        def notice(self, **message) -> None:
            pass

    viewer = Viewer()
    upstream = log_streams.follow_container(engine, container["Id"], tty=False)
    upstream.subscribe(viewer)
    try:
        await asyncio.to_thread(upstream.connected.wait, 30)
        follow = engine_containers.container_logs_stream

        def written_while_away(**options):
            make.api.exec_start(make.api.exec_create(container["Id"], ["touch", "/tmp/go"]))
            wait_on_condition(lambda: b"during" in make.api.logs(container["Id"]), timeout=30)
            return follow(**options)

        monkeypatch.setattr(engine_containers, "container_logs_stream", written_while_away)
        upstream.interrupt()  # as a dropped connection ends the stream

        deadline = time.monotonic() + 30
        while "during" not in str(received) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert "during" in str(received)
        assert "before" not in str(received)
    finally:
        upstream.unsubscribe(viewer)
        upstream.stop()
