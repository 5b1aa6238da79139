"""One job's progress, live, over a websocket: the job runs once, any number of pages watch.

Each viewer is sent what changed since it last looked, at most TICKS_PER_SECOND times a
second however many layers move, and only while it has acknowledged what it was sent: a
slow page gets fewer, larger updates, and nothing piles up for it on the server.
"""

import asyncio
import contextlib
import json

from containers_app import access, jobs
from containers_app.consumers.auth import database_call
from containers_app.consumers.base import Consumer
from containers_app.models import Job

TICKS_PER_SECOND = 10
# How often within a tick the job is looked at for having ended.
END_CHECKS_PER_TICK = 5
CREDIT = 4


class JobConsumer(Consumer):
    """Server sends {"state", "percent", "layers", "output", "result", ...} updates; the
    first is whole ("full": true). Client sends {"ack": n} for updates drawn."""

    task: asyncio.Task | None = None

    async def connect(self) -> None:
        user = self.scope["user"]
        if not access.allowed(await self.actor(), access.VIEW):
            await self.close(code=4403)
            return
        job = await database_call(jobs.find, user, int(self.scope["url_route"]["kwargs"]["job_id"]))
        await self.accept()
        if job is None:
            reason = "No such job."
            await self.send(json.dumps({"state": "gone", "error": reason, "notice": reason}))
            await self.close(code=4404)
            return
        self.credit = CREDIT
        self.acked = asyncio.Event()
        self.task = asyncio.create_task(self._follow(job))

    async def _follow(self, job: Job) -> None:
        run = jobs.live(job.pk)
        if run is None:
            # Ended, or it ended between the lookup and now: its row is up to date by then.
            job = await database_call(lambda: jobs.settled(Job.objects.get(pk=job.pk)))
            await self.send(json.dumps({**jobs.snapshot(job), "full": True}))
            await self.close()
            return
        version, line, first = -1, 0, True
        while True:
            if self.credit <= 0:
                self.acked.clear()
                await self.acked.wait()
            update, ended = run.since(version, line)
            if first or update["version"] != version or ended:
                update["full"] = first
                first = False
                version, line = update["version"], update["line"]
                self.credit -= 1
                await self.send(json.dumps(update))
            if ended:
                await self.close()
                return
            await self._pause(run)

    async def _pause(self, run: jobs.Run) -> None:
        """The pause between two updates, cut short when the job ends: its last update (the
        result a page or script waits for) goes out within a fraction of a tick."""
        for _ in range(END_CHECKS_PER_TICK):
            await asyncio.sleep(1 / TICKS_PER_SECOND / END_CHECKS_PER_TICK)
            if run.state in jobs.ENDED:
                return

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            message = json.loads(text_data or "{}")
            ack = message.get("ack")
            if isinstance(ack, int) and not isinstance(ack, bool):
                self.credit = min(self.credit + max(ack, 0), CREDIT)
                self.acked.set()

    async def disconnect(self, code: int) -> None:
        if self.task is not None:
            self.task.cancel()
