"""`docker logs -f` of one container, or of several merged, over a websocket: only of
containers whose logs the user may read (access.LOGS)."""

import asyncio
import contextlib
import json
from urllib.parse import parse_qs

from django.conf import settings

from containers_app import access, find
from containers_app.access import CONTAINER
from containers_app.consumers.base import CLOSE_NOT_FOUND, CLOSE_REFUSED, Consumer
from containers_app.engine import EngineError, NotFound
from containers_app.forms import CONTAINER_REF, LogsForm
from containers_app.streams import logs
from containers_app.streams.fanout import Viewer

MAX_CONTAINERS = 50
CLOSE_BAD_REQUEST = 4400
LOGS_REFUSED = "This account may not read this container's log."


class LogsConsumer(Consumer):
    """Client sends {"ack": n} for frames drawn; server sends frames of log blocks (see
    logs.BlockFrames) and JSON notices."""

    about_engine = True

    viewer: Viewer | None = None

    async def connect(self) -> None:
        self.tasks: list[asyncio.Task] = []
        self.subscriptions: list = []
        if not access.allowed(await self.actor(), access.VIEW):
            await self.close(code=4403)
            return
        query = parse_qs(self.scope["query_string"].decode("latin-1"))
        refs = (
            [self.scope["url_route"]["kwargs"].get("ref")]
            if "ref" in self.scope["url_route"]["kwargs"]
            else query.get("c", [])
        )
        form = LogsForm({k: v[-1] for k, v in query.items() if k != "c"})
        await self.accept()
        if not refs or len(refs) > MAX_CONTAINERS or not all(CONTAINER_REF.match(r) for r in refs):
            await self._refuse("Name one to 50 containers.")
            return
        if not form.is_valid():
            await self._refuse("; ".join(e for errs in form.errors.values() for e in errs))
            return
        engine = await self.engine()
        actor = await self.actor()
        try:
            found = await asyncio.gather(
                *(
                    find.find_visible_async(actor, engine, CONTAINER, ref, light=True)
                    for ref in refs
                )
            )
        except NotFound as error:
            # Another team's container is answered as a missing one: no name leaks.
            await self._refuse(error.reason, code=CLOSE_NOT_FOUND)
            return
        except EngineError as error:
            await self._refuse(error.reason)
            return
        if not all(access.allowed(actor, access.LOGS, one.target) for one in found):
            await self._refuse(LOGS_REFUSED, code=CLOSE_REFUSED)
            return
        details = [one.obj for one in found]
        sources = [logs.LogSource(id=d.id, name=d.name, tty=d.tty) for d in details]
        await self.send(json.dumps({"containers": [[s.id, s.name] for s in sources]}))
        self.viewer = Viewer(frames=logs.BlockFrames)
        self.tasks.append(asyncio.create_task(self.viewer.pump(self.send_text)))
        self.tasks.append(asyncio.create_task(self._serve(engine, sources, form.cleaned_data)))

    async def _serve(self, engine, sources, options) -> None:
        try:
            await logs.serve(
                self.viewer,
                engine,
                sources,
                subscriptions=self.subscriptions,
                history_bytes=settings.LOG_HISTORY_BYTES,
                **options,
            )
        except logs.ViewerGone:
            pass
        except EngineError as error:
            self.viewer.notice(state="ended", notice=error.reason)

    async def send_text(self, text: str) -> None:
        await self.send(text_data=text)

    async def _refuse(self, reason: str, *, code: int = CLOSE_BAD_REQUEST) -> None:
        await self.send(json.dumps({"state": "ended", "error": reason, "notice": reason}))
        await self.close(code=code)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            message = json.loads(text_data or "{}")
            if self.viewer and "ack" in message:
                self.viewer.ack(int(message["ack"]))

    async def disconnect(self, code: int) -> None:
        if self.viewer:
            self.viewer.close()
        for upstream, subscriber in self.subscriptions:
            upstream.unsubscribe(subscriber)
        for task in self.tasks:
            task.cancel()
