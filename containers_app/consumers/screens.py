"""A wall screen's live tiles over ws/screen/: opened with the screen's cookie (no user),
closed within CHECK_SECONDS once its link is revoked or replaced."""

import asyncio
import contextlib
import json
from collections import Counter

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import DatabaseError
from django.http.cookie import parse_cookie

from containers_app import access, actors, engines, screens
from containers_app.consumers.auth import database_call
from containers_app.consumers.base import CLOSE_REFUSED, CLOSE_TOO_MANY, Consumer
from containers_app.streams import walls
from containers_app.streams.fanout import Viewer

# What the page reads before the socket closes (daphne drops a close frame's reason).
NOT_VALID = "This screen's link was revoked or replaced: ask for a new one."
# Sockets open in this process by screen id: a link handed around cannot take the server's.
_open: Counter = Counter()


def screen_cookie(scope: dict) -> str:
    """The screen cookie in the handshake's cookies, or ""."""
    cookies = "; ".join(
        value.decode("latin-1") for name, value in scope.get("headers", ()) if name == b"cookie"
    )
    return parse_cookie(cookies).get(screens.COOKIE_NAME, "") if cookies else ""


class ScreenConsumer(Consumer):
    feed: walls.ScreenFeed | None = None
    screen_id: int | None = None

    async def connect(self) -> None:
        self.tasks: list[asyncio.Task] = []
        value = screen_cookie(self.scope)
        screen = await database_call(screens.screen_for_cookie, value) if value else None
        if screen is None:
            if screens.read_cookie(value) is not None:
                # A wall whose link was revoked or replaced while it was away: told so (a
                # refusal before accepting reaches the page as 1006, which it would retry),
                # so it clears its tiles instead of showing the last ones for ever.
                await self.accept()
                await self.send(json.dumps({"state": "revoked", "notice": NOT_VALID}))
            await self.close(code=CLOSE_REFUSED)
            return
        limit = settings.MAX_WEBSOCKETS_PER_USER
        if _open[screen.pk] >= limit:
            await self.accept()
            reason = f"Too many open connections for this screen (limit {limit})."
            await self.send(json.dumps({"state": "ended", "error": reason, "notice": reason}))
            await self.close(code=CLOSE_TOO_MANY, reason=reason)
            return
        # Counted before the next wait, so handshakes arriving together cannot all pass.
        _open[screen.pk] += 1
        self.screen_id = screen.pk
        engine = await database_call(engines.default)
        self._actor = await database_call(actors.of_screen, screen, engine)
        await self.accept()
        self.viewer = Viewer()
        self.feed = walls.ScreenFeed(engine, self._actor, self.viewer)
        self.feed.start()
        self.tasks.append(asyncio.create_task(self.viewer.pump(self._send_text)))
        self.tasks.append(asyncio.create_task(self._watch_link(screen, engine)))

    async def actor(self) -> access.Actor:
        return getattr(self, "_actor", None) or access.NOBODY

    async def _send_text(self, text: str) -> None:
        await self.send(text_data=text)

    async def _watch_link(self, screen, engine) -> None:
        """Closes the socket once the screen's link no longer holds (one query a second),
        and follows changes to what its team owns (compose projects) now and then."""
        mark = screens.fingerprint(screen.token_hash)
        checks = 0
        while True:
            await asyncio.sleep(screens.CHECK_SECONDS)
            checks += 1
            try:
                valid = await database_call(screens.still_valid, screen.pk, mark)
                if valid and self.feed is not None and checks % screens.RESCOPE_CHECKS == 0:
                    self._actor = await database_call(actors.of_screen, screen, engine)
                    self.feed.rescope(self._actor)
            except DatabaseError:
                continue  # asked again in a second
            if not valid:
                self._stop(keep=asyncio.current_task())
                with contextlib.suppress(Exception):
                    await self.send(json.dumps({"state": "revoked", "notice": NOT_VALID}))
                await self.close(code=CLOSE_REFUSED)
                return

    async def close(self, code=None, reason=None) -> None:
        # Refusing a screen's cookie is no signed-in user's attempt: nothing to record.
        await AsyncWebsocketConsumer.close(self, code=code, reason=reason)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            message = json.loads(text_data or "{}")
            if self.feed is None:
                return
            if "ack" in message:
                self.viewer.ack(int(message["ack"]))
            if message.get("reload") is True:
                # The page missed updates (it was told some were skipped): all of it again.
                self.feed.reload_soon()

    def _stop(self, keep: asyncio.Task | None = None) -> None:
        if self.feed is not None:
            self.viewer.close()
            self.feed.close()
            self.feed = None
        for task in self.tasks:
            if task is not keep:
                task.cancel()
        if self.screen_id is not None:
            _open[self.screen_id] -= 1
            if _open[self.screen_id] <= 0:
                del _open[self.screen_id]
            self.screen_id = None

    async def disconnect(self, code: int) -> None:
        self._stop(keep=None)
