"""Helpers for the websocket tests: communicators on Berth's routes, reading until something
arrives, and putting the process's shared upstreams back between tests."""

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable

from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from containers_app import live
from containers_app.streams import events, stats
from dashboard.routing import websocket_urlpatterns

router = URLRouter(websocket_urlpatterns)


async def connected(path: str, user, *, timeout: float = 15) -> WebsocketCommunicator:
    """A communicator on `path` as `user`, already accepted (or the test fails)."""
    communicator = WebsocketCommunicator(router, path)
    communicator.scope["user"] = user
    accepted, code = await communicator.connect(timeout=timeout)
    assert accepted, f"{path} was refused with {code}"
    return communicator


async def refused(path: str, user, *, timeout: float = 15) -> int | None:
    """The close code `path` answers `user` with; fails the test if it accepts."""
    communicator = WebsocketCommunicator(router, path)
    communicator.scope["user"] = user
    accepted, code = await communicator.connect(timeout=timeout)
    if accepted:
        await communicator.disconnect()
    assert not accepted, f"{path} was accepted"
    return code


async def eventually(condition: Callable[[], bool], *, timeout: float = 15, step: float = 0.05):
    """wait_on_condition for async tests: polls without blocking the event loop."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await asyncio.sleep(step)
    raise AssertionError(f"condition not met within {timeout} s")


def upstream_of(registry, kind: str, object_id: str, engine: str = "local"):
    """The shared upstream of `kind` ("logs", "stats") of one object on the engine named
    `engine`, if one runs in this process."""
    found = [
        upstream
        for (on, of_kind, key), upstream in registry._upstreams.items()
        if on.slug == engine and (of_kind, key) == (kind, object_id)
    ]
    return found[0] if found else None


def events_subscribed() -> bool:
    """Whether the process's events upstream has the engine's answer, so that what happens
    from now on reaches its watchers."""
    upstreams = list(events.registry._upstreams.values())
    return len(upstreams) == 1 and upstreams[0]._stream is not None


class Frames:
    """Reads a frame-and-ack stream (live pages, stats): each item of each {"lines": [...]}
    frame, and each notice, acknowledging frames as the browser does."""

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.communicator = communicator
        self.items: list[dict] = []
        self.notices: list[dict] = []
        self._unread: deque[dict] = deque()

    async def until(self, wanted: Callable[[dict], bool], *, timeout: float = 30) -> dict:
        """The first item or notice not yet looked at for which `wanted` is true."""
        deadline = time.monotonic() + timeout
        while True:
            while self._unread:
                item = self._unread.popleft()
                if wanted(item):
                    return item
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not await self._arrives(remaining):
                raise AssertionError(
                    f"nothing wanted arrived within {timeout} s; last items: {self.items[-5:]}"
                )
            message = await self.communicator.receive_output()
            assert message["type"] == "websocket.send", message
            data = json.loads(message["text"])
            if "lines" in data:
                await self.communicator.send_to(text_data=json.dumps({"ack": 1}))
                self.items.extend(data["lines"])
                self._unread.extend(data["lines"])
            else:
                self.notices.append(data)
                self._unread.append(data)

    async def _arrives(self, timeout: float) -> bool:
        """Whether a message comes within `timeout`, without the communicator's own timeout
        (which would cancel the consumer)."""
        return not await self.communicator.receive_nothing(timeout=timeout, interval=0.02)


def stop_shared_upstreams() -> None:
    """Stops every events and stats upstream and forgets the live pages.

    Each async test runs its own event loop, and an upstream belongs to the loop of the test
    that started it; left running, the next test would join an upstream whose loop is gone.
    """
    for registry in (events.registry, stats.registry):
        for upstream in list(registry._upstreams.values()):
            upstream.stop()
    live._pages.clear()
