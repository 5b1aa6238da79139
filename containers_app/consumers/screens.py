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

from containers_app import access, actors, screens
from containers_app.consumers.auth import database_call
from containers_app.consumers.base import CLOSE_REFUSED, CLOSE_TOO_MANY, Consumer
from containers_app.engine import Engine
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


def _scope_of(screen) -> dict[str, tuple[Engine, access.Actor]]:
    """Each engine the screen shows now, by slug, with who the screen is there (its team's
    grants and compose projects read again)."""
    return {
        engine.slug: (engine, actors.of_screen(screen, engine))
        for engine in screens.engines_of(screen)
    }


class ScreenConsumer(Consumer):
    """One socket per open wall; a feed per engine the screen shows, all on one viewer."""

    feeds: dict[str, walls.ScreenFeed] | None = None
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
        scope = await database_call(_scope_of, screen)
        await self.accept()
        self.viewer = Viewer()
        self.feeds = {}
        self._follow(scope)
        self.tasks.append(asyncio.create_task(self.viewer.pump(self._send_text)))
        self.tasks.append(asyncio.create_task(self._watch_link(screen)))

    async def actor(self) -> access.Actor:
        # A screen is no user: a refusal of it is nobody's attempt to record.
        return access.NOBODY

    def _follow(self, scope: dict[str, tuple[Engine, access.Actor]]) -> None:
        """Starts a feed for each engine new to the screen's scope, rescopes the others, and
        takes off the wall the tiles of an engine it no longer shows."""
        if self.feeds is None:
            return
        for slug in [slug for slug in self.feeds if slug not in scope]:
            self.feeds.pop(slug).clear()
        for slug, (engine, actor) in scope.items():
            feed = self.feeds.get(slug)
            if feed is not None and feed.engine != engine:  # its address or keys changed
                self.feeds.pop(slug).close()
                feed = None
            if feed is None:
                self.feeds[slug] = walls.ScreenFeed(engine, actor, self.viewer)
                self.feeds[slug].start()
            else:
                feed.rescope(actor)

    async def _send_text(self, text: str) -> None:
        await self.send(text_data=text)

    async def _watch_link(self, screen) -> None:
        """Closes the socket once the screen's link no longer holds (one query a second),
        and follows changes to what its team owns (compose projects) and to the engines it
        may show now and then."""
        mark = screens.fingerprint(screen.token_hash)
        checks = 0
        while True:
            await asyncio.sleep(screens.CHECK_SECONDS)
            checks += 1
            try:
                valid = await database_call(screens.still_valid, screen.pk, mark)
                if valid and self.feeds is not None and checks % screens.RESCOPE_CHECKS == 0:
                    self._follow(await database_call(_scope_of, screen))
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
            if self.feeds is None:
                return
            if "ack" in message:
                self.viewer.ack(int(message["ack"]))
            if message.get("reload") is True:
                # The page missed updates (it was told some were skipped): all of it again.
                for feed in self.feeds.values():
                    feed.reload_soon()

    def _stop(self, keep: asyncio.Task | None = None) -> None:
        if self.feeds is not None:
            self.viewer.close()
            for feed in self.feeds.values():
                feed.close()
            self.feeds = None
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
