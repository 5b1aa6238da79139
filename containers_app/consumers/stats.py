"""`docker stats` over a websocket: all running containers, or one (?id=) with its recent
history for charts."""

import asyncio
import contextlib
import json
from urllib.parse import parse_qs

from containers_app import access
from containers_app.consumers.base import Consumer
from containers_app.engine import EngineError, default_engine
from containers_app.engine import containers as engine_containers
from containers_app.forms import CONTAINER_REF
from containers_app.streams.executor import engine_call
from containers_app.streams.fanout import Viewer
from containers_app.streams.stats import StatsWatch


class StatsConsumer(Consumer):
    watch: StatsWatch | None = None

    async def connect(self) -> None:
        self.task: asyncio.Task | None = None
        if not access.allowed(await self.actor(), access.VIEW):
            await self.close(code=4403)
            return
        query = {k: v[-1] for k, v in parse_qs(self.scope["query_string"].decode()).items()}
        one = query.get("id", "")
        if one and not CONTAINER_REF.match(one):
            await self.close(code=4400)
            return
        engine = default_engine()
        try:
            if one:
                detail = await engine_call(
                    engine_containers.container_inspect, engine=engine, container_id=one
                )
                running = [detail.id] if detail.running else []
            else:
                rows = await engine_call(engine_containers.container_list, engine=engine)
                running = [row.id for row in rows if row.state == "running"]
        except EngineError:
            await self.close(code=4400)
            return
        await self.accept()
        self.viewer = Viewer()
        self.watch = StatsWatch(engine, self.viewer)
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
