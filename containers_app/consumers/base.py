"""The base of every websocket consumer here: each message goes straight to its handler, and
each user has at most MAX_WEBSOCKETS_PER_USER sockets open."""

import asyncio
import json
from collections import Counter

from django.conf import settings
from django.db import DatabaseError

from containers_app import access, actors, audit, engines
from containers_app.compat import DirectDispatch, StopConsumer
from containers_app.consumers.auth import database_call
from containers_app.engine import Engine

CLOSE_TOO_MANY = 4429
# Its user's rights changed while it was open: the page opens it again.
CLOSE_RIGHTS_CHANGED = 4001
RIGHTS_CHECK_SECONDS = 10.0
# What every consumer closes with when access refuses the user (or their ticket).
CLOSE_REFUSED = 4403
# An object that does not exist, or that the user may not see: the same answer for both, so
# another team's names do not leak.
CLOSE_NOT_FOUND = 4404
REFUSED_REASON = "This account may not open this connection, or its ticket is not valid."
# Websockets open in this process by user id, every route together: each holds upstreams,
# queues and engine calls, so one user's many tabs (or a script) cannot take the server's.
# Only the event loop's thread touches it.
_open: Counter = Counter()


class Consumer(DirectDispatch):
    """Each message goes straight to its handler, without Channels' channel layer and
    per-message database cleanup (compat.DirectDispatch says why); one that joins groups sets
    uses_channel_layer."""

    # A route about one engine (ws/engines/<slug>/..., or the default engine's ws/...): its
    # actor has the roles of the teams that may use that engine. Others (jobs, audit) span
    # every engine.
    about_engine = False
    # The user id this socket counts against, once counted; or whether it was turned away
    # for being over the limit, before connect() ran.
    counted: object = None
    turned_away = False

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # However the socket ended: closed by either side, refused or failed in
            # connect(), or cancelled by the server.
            self._uncount()
            if getattr(self, "_rights_task", None) is not None:
                self._rights_task.cancel()

    async def websocket_connect(self, message: dict) -> None:
        """Counts the socket against its user before connect() runs; over the limit, it is
        accepted only to be closed with a code and reason a browser can show (a refusal
        before accepting reaches it as 1006)."""
        user = self.scope.get("user")
        if user is not None and user.is_authenticated:  # others are refused by connect()
            limit = settings.MAX_WEBSOCKETS_PER_USER
            if _open[user.pk] >= limit:
                self.turned_away = True
                await self.accept()
                reason = (
                    f"Too many open connections for this user (limit {limit}): close some tabs."
                )
                # daphne drops a close frame's reason: the pages read it from this message.
                await self.send(json.dumps({"state": "ended", "error": reason, "notice": reason}))
                await self.close(code=CLOSE_TOO_MANY, reason=reason)
                return
            _open[user.pk] += 1
            self.counted = user.pk
        await super().websocket_connect(message)

    def _uncount(self) -> None:
        if self.counted is not None:
            _open[self.counted] -= 1
            if _open[self.counted] <= 0:
                del _open[self.counted]
            self.counted = None

    async def websocket_disconnect(self, message: dict) -> None:
        if self.turned_away:  # connect() never ran: nothing of it to undo
            raise StopConsumer
        if self.uses_channel_layer:
            await super().websocket_disconnect(message)
        await self.disconnect(message["code"])
        raise StopConsumer

    async def close(self, code=None, reason=None) -> None:
        """Closes the socket; a refusal of a signed-in user is recorded first, as every
        consumer refuses through here (audit.denied: the route without its parameters)."""
        if code == CLOSE_REFUSED:
            user = self.scope.get("user")
            # Signed in: Django's own sign-in gives a deactivated account no session.
            if user is not None and user.is_authenticated and user.is_active:
                await database_call(
                    audit.denied,
                    user=user,
                    engine=getattr(self, "_engine", None) or await database_call(engines.default),
                    action=f"websocket {route_of(self.scope)}",
                    reason=REFUSED_REASON,
                )
        await super().close(code=code, reason=reason)

    async def actor(self) -> access.Actor:
        """Who is on this socket (access.Actor), loaded once; while the socket is open, its
        rights are looked at again every RIGHTS_CHECK_SECONDS (see _watch_rights)."""
        if getattr(self, "_actor", None) is None:
            user = self.scope.get("user")
            engine = await self.engine() if self.about_engine else None
            if user is None or (self.about_engine and engine is None):
                self._actor = access.NOBODY
            else:
                self._actor = await database_call(actors.of_user, user, engine)
            if self._actor.is_user:
                self._rights_task = asyncio.create_task(self._watch_rights(user))
        return self._actor

    def _current_actor(self, user) -> access.Actor:
        """The actor as the database says now: the engine looked up again, as its grants
        may have changed."""
        if not self.about_engine:
            return actors.of_user(user, None)
        engine = engines.usable(user, self._route_engine() or "")
        return actors.of_user(user, engine) if engine is not None else access.NOBODY

    def _route_engine(self) -> str | None:
        return self.scope.get("url_route", {}).get("kwargs", {}).get(engines.ENGINE_KWARG)

    async def engine(self) -> Engine | None:
        """The engine this socket is about, from its route (the default one without), if it
        exists and its user may use it; None, the same for both, otherwise. Looked up once:
        a grant taken away later is caught by _watch_rights."""
        if not hasattr(self, "_engine"):
            user = self.scope.get("user")
            self._engine = await database_call(engines.usable, user, self._route_engine() or "")
        return self._engine

    async def _watch_rights(self, user) -> None:
        """Closes the socket once its user's rights change (a role, a team left, a compose
        project handed to another team, the account deactivated): what it sends was chosen
        for the rights it opened with. The page opens it again, with the new ones."""
        while True:
            await asyncio.sleep(RIGHTS_CHECK_SECONDS)
            try:
                now = await database_call(self._current_actor, user)
            except DatabaseError:
                continue  # asked again next time
            if now.key() != self._actor.key():
                await self.close(code=CLOSE_RIGHTS_CHANGED)
                return


def route_of(scope: dict) -> str:
    """The socket's path with each URL parameter's value replaced by its name
    (/ws/containers/{ref}/exec/): which route, not which object."""
    values = {str(v): k for k, v in scope.get("url_route", {}).get("kwargs", {}).items()}
    parts = scope.get("path", "").split("/")
    return "/".join(f"{{{values[part]}}}" if part in values else part for part in parts)
