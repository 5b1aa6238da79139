"""A page's live updates: the engine's events, rendered into rows once per page view."""

import asyncio
import contextlib
import json
from urllib.parse import parse_qs

from containers_app import access
from containers_app.consumers.base import Consumer
from containers_app.engine import default_engine
from containers_app.forms import CONTAINER_REF
from containers_app.live import PageView, Watcher, live_pages

PAGES = {"containers", "images", "networks", "volumes", "system", "container"}


class LiveConsumer(Consumer):
    watcher: Watcher | None = None

    async def connect(self) -> None:
        self.task: asyncio.Task | None = None
        actor = await self.actor()
        if not access.allowed(actor, access.VIEW):
            await self.close(code=4403)
            return
        query = {k: v[-1] for k, v in parse_qs(self.scope["query_string"].decode()).items()}
        page, object_id = query.get("page", ""), query.get("id", "")
        if page not in PAGES or (page == "container" and not CONTAINER_REF.match(object_id)):
            await self.close(code=4400)
            return
        view = PageView(
            page=page,
            can_change=access.allowed(actor, access.CHANGE),
            variant="dangling" if page == "images" and query.get("dangling") == "1" else "",
            object_id=object_id if page == "container" else "",
        )
        since = query.get("since", "")
        await self.accept()
        self.pages = live_pages(default_engine())
        self.watcher = Watcher(view=view)
        valid = since.isdigit() and len(since) <= 20
        self.pages.add(self.watcher, since_nano=int(since) if valid else 0)
        if page == "system":
            recent = self.pages.recent_events()[-50:]
            self.watcher.viewer.offer([{"kind": "event", **e} for e in recent])
        self.task = asyncio.create_task(self.watcher.viewer.pump(self._send_text))

    async def _send_text(self, text: str) -> None:
        await self.send(text_data=text)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            message = json.loads(text_data or "{}")
            if self.watcher and "ack" in message:
                self.watcher.viewer.ack(int(message["ack"]))

    async def disconnect(self, code: int) -> None:
        if self.watcher:
            self.watcher.viewer.close()
            self.pages.remove(self.watcher)
        if self.task:
            self.task.cancel()
