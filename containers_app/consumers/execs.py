"""`docker exec -it` over a websocket: binary frames carry the terminal's bytes both ways;
text frames carry {"resize": [cols, rows]} and {"ack": bytes} in, {"exit": code} out.
What runs comes from the single-use ticket, never from the query string; it runs only in a
container the user may operate (access.OPERATE)."""

import asyncio
import contextlib
import json
from urllib.parse import parse_qs

from containers_app import access, audit, cli, find, tickets
from containers_app.access import CONTAINER
from containers_app.consumers.auth import database_call
from containers_app.consumers.base import CLOSE_NOT_FOUND, Consumer
from containers_app.engine import EngineError, NotFound
from containers_app.streams.execs import ExecSession

CLOSE_REFUSED = 4403
CLOSE_BAD_REQUEST = 4400


class ExecConsumer(Consumer):
    """Runs what the ticket (issued by the terminal form's POST) says, once, and audits it."""

    about_engine = True

    session: ExecSession | None = None
    audit_id: int | None = None

    async def connect(self) -> None:
        self.output: asyncio.Task | None = None
        user = self.scope["user"]
        query = {k: v[-1] for k, v in parse_qs(self.scope["query_string"].decode()).items()}
        ref = self.scope["url_route"]["kwargs"]["ref"]
        actor = await self.actor()
        if not access.allowed(actor, access.CHANGE):
            await self.close(code=CLOSE_REFUSED)
            return
        engine = await self.engine()
        try:
            found = await find.find_visible_async(actor, engine, CONTAINER, ref, light=True)
        except NotFound:
            # Another team's container is answered as a missing one: its name never leaks.
            await self.close(code=CLOSE_NOT_FOUND)
            return
        except EngineError:
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        container, target = found.obj, found.target
        if not access.allowed(actor, access.OPERATE, target):
            await self.close(code=CLOSE_REFUSED)  # recorded as denied
            return
        grant = tickets.grant(query.get("ticket", ""), user_id=user.pk, container_id=container.id)
        if grant is None:
            await self.close(code=CLOSE_REFUSED)
            return
        command_line = cli.exec_terminal(
            container.name, grant.command, user=grant.user, workdir=grant.workdir
        )
        self.audit_id = await database_call(
            audit.terminal_opened,
            user=user,
            engine=engine,
            container=container.name,
            command=command_line,
            ticket=grant.nonce,
            team=access.owner(actor, target) or "",
        )
        if self.audit_id is None:  # this ticket already opened a terminal
            await self.close(code=CLOSE_REFUSED)
            return
        await self.accept()
        try:
            self.session = await ExecSession.start(
                engine,
                container.id,
                list(grant.command),
                user=grant.user,
                workdir=grant.workdir,
                size=_size(query.get("cols"), query.get("rows")),
            )
        except EngineError as error:
            await self._ended(error=error.reason)
            await self.send(json.dumps({"error": error.reason}))
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        self.output = asyncio.create_task(self._forward_output())

    async def _ended(self, *, exit_code: int | None = None, error: str = "") -> None:
        """Records, once, how the terminal ended."""
        entry, self.audit_id = self.audit_id, None
        if entry is not None:
            await database_call(audit.terminal_ended, entry, exit_code=exit_code, error=error)

    async def _forward_output(self) -> None:
        assert self.session is not None
        await self.session.pump_output(lambda data: self.send(bytes_data=data))
        code = await self.session.exit_code()
        await self._ended(exit_code=code)
        await self.send(json.dumps({"exit": code}))
        await self.close()

    async def _resize(self, cols, rows) -> None:
        size = _size(cols, rows)
        if self.session and size:
            with contextlib.suppress(EngineError):
                await self.session.resize(rows=size[0], cols=size[1])

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.session is None:
            return
        if bytes_data is not None:
            await self.session.write(bytes_data)
            return
        with contextlib.suppress(ValueError, TypeError, AttributeError, KeyError):
            message = json.loads(text_data or "{}")
            if "resize" in message:
                await self._resize(*message["resize"][:2])
            if "ack" in message:
                self.session.ack(int(message["ack"]))

    async def disconnect(self, code: int) -> None:
        if self.output:
            self.output.cancel()
        if self.session:
            self.session.close()
            await self.session.hang_up()
        await self._ended()


def _size(cols, rows) -> tuple[int, int] | None:
    """(rows, cols) of a terminal the browser asked for, if it is a sensible size."""
    with contextlib.suppress(TypeError, ValueError):
        cols, rows = int(cols), int(rows)
        if 0 < cols <= 1000 and 0 < rows <= 1000:
            return rows, cols
    return None
