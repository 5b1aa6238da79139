"""`docker stats` over a websocket: all running containers the user may see, or one (?id=)
with its recent history for charts."""

import asyncio
import contextlib
import json
from collections.abc import Mapping
from urllib.parse import parse_qs

from containers_app import access, find
from containers_app.access import CONTAINER
from containers_app.consumers.base import CLOSE_NOT_FOUND, Consumer
from containers_app.engine import EngineError, NotFound
from containers_app.engine import containers as engine_containers
from containers_app.forms import CONTAINER_REF
from containers_app.streams.executor import engine_call
from containers_app.streams.fanout import Viewer
from containers_app.streams.stats import StatsWatch


class StatsConsumer(Consumer):
    about_engine = True
    watch: StatsWatch | None = None

    async def connect(self) -> None:
        self.task: asyncio.Task | None = None
        actor = await self.actor()
        if not access.allowed(actor, access.VIEW):
            await self.close(code=4403)
            return
        query = {k: v[-1] for k, v in parse_qs(self.scope["query_string"].decode()).items()}
        one = query.get("id", "")
        if one and not CONTAINER_REF.match(one):
            await self.close(code=4400)
            return

        def shows(labels: Mapping[str, str]) -> bool:
            return access.allowed(actor, access.VIEW, access.Target(access.CONTAINER, labels))

        engine = await self.engine()
        try:
            if one:
                # Another team's container is found as a missing one.
                detail = (await find.find_visible_async(actor, engine, CONTAINER, one)).obj
                found = [detail]
                running = [c.id for c in found if c.running]
            else:
                rows = await engine_call(engine_containers.container_list, engine=engine)
                found = [row for row in rows if shows(row.labels)]
                running = [row.id for row in found if row.state == "running"]
        except NotFound:
            found = []
        except EngineError:
            await self.close(code=4400)
            return
        if one and not found:
            # Another team's container is answered as a missing one: its name never leaks.
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.accept()
        self.viewer = Viewer()
        self.watch = StatsWatch(engine, self.viewer, shows=shows)
        for container_id in running:
            self.watch.watch(container_id, with_history=bool(one))
        if not one:
            self.watch.follow_running()
        self.task = asyncio.create_task(self.viewer.pump(self._send_text))

    async def _send_text(self, text: str) -> None:
        await self.send(text_data=text)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            message = json.loads(text_data or "{}")
            if self.watch and "ack" in message:
                self.viewer.ack(int(message["ack"]))

    async def disconnect(self, code: int) -> None:
        if self.watch:
            self.viewer.close()
            self.watch.close()
        if self.task:
            self.task.cancel()
