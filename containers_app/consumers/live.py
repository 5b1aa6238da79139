"""A page's live updates: the engine's events, rendered into rows once per page view and
sent only to those who may see what changed."""

import asyncio
import contextlib
import json
from urllib.parse import parse_qs

from containers_app import access, find
from containers_app.consumers.base import CLOSE_NOT_FOUND, Consumer
from containers_app.engine import EngineError, NotFound
from containers_app.forms import CONTAINER_REF
from containers_app.live import PageView, Watcher, live_pages

PAGES = {"containers", "images", "networks", "volumes", "system", "container"}


class LiveConsumer(Consumer):
    about_engine = True
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
        engine = await self.engine()
        if page == "container":
            # Another team's container is answered as a missing one, so its name never leaks.
            try:
                found = await find.find_visible_async(
                    actor, engine, access.CONTAINER, object_id, light=True
                )
            except NotFound:
                await self.close(code=CLOSE_NOT_FOUND)
                return
            except EngineError:
                await self.close(code=4400)
                return
            object_id = found.id  # events name containers by their full id
        view = PageView(
            page=page,
            actor=actor,
            variant="dangling" if page == "images" and query.get("dangling") == "1" else "",
            object_id=object_id if page == "container" else "",
        )
        since = query.get("since", "")
        await self.accept()
        self.pages = live_pages(engine)
        self.watcher = Watcher(view=view)
        valid = since.isdigit() and len(since) <= 20
        self.pages.add(self.watcher, since_nano=int(since) if valid else 0)
        if page == "system":
            self.watcher.viewer.offer(self.pages.recent_feed(view))
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
