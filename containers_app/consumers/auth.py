"""Who a websocket belongs to: the Django session its cookie names, looked up off the loop.

Channels' AuthMiddlewareStack looks the session and the user up on asgiref's one shared
thread and opens and closes a database connection for each (1.7 ms a lookup here, against
1.0 ms on a connection kept open): sixteen terminals opened at once waited for each other
there. Here lookups run on a pool of their own whose threads keep their connection, and check
the session with compat.session_user (django.contrib.auth.get_user's check, copied).
The lookup only reads: a session that no longer verifies is refused, not flushed or cycled,
so a websocket never changes what the browser's cookie means.
"""

import asyncio
import logging
import weakref
from concurrent.futures import ThreadPoolExecutor
from importlib import import_module

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError, connections
from django.http.cookie import parse_cookie

from containers_app.compat import session_user

logger = logging.getLogger(__name__)

AUTH_THREADS = 8
_pool = ThreadPoolExecutor(max_workers=AUTH_THREADS, thread_name_prefix="berth-auth")


def session_key(scope: dict) -> str:
    """The session key in the handshake's cookies, or ""."""
    cookies = "; ".join(
        value.decode("latin-1") for name, value in scope.get("headers", ()) if name == b"cookie"
    )
    return parse_cookie(cookies).get(settings.SESSION_COOKIE_NAME, "") if cookies else ""


def user_for_session(key: str):
    """The active user the session `key` was signed in as, else AnonymousUser."""
    if not key:
        return AnonymousUser()
    return session_user(import_module(settings.SESSION_ENGINE).SessionStore(key))


def _close_broken_connections() -> None:
    # Keep this thread's connection for the next query unless it broke.
    for connection in connections.all(initialized_only=True):
        if connection.errors_occurred and not connection.is_usable():
            connection.close()


def _lookup(key: str):
    try:
        return user_for_session(key)
    except DatabaseError:
        logger.exception("session lookup failed; the websocket is treated as signed out")
        return AnonymousUser()
    finally:
        _close_broken_connections()


def _with_connection_kept(function, args, kwargs):
    try:
        return function(*args, **kwargs)
    finally:
        _close_broken_connections()


async def database_call(function, /, *args, **kwargs):
    """Runs a blocking database function for a consumer on the same threads as the session
    lookups (which keep their connection), never on asgiref's one shared thread."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool, _with_connection_kept, function, args, kwargs)


# Lookups in flight, by event loop and session key. A page opens several websockets at once
# (the container page: live updates and stats), and each lookup costs a millisecond of CPU
# that a busy server spreads over tens: those that arrive while one for the same session is
# running share its answer. Nothing is kept once it is answered.
_in_flight: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Future]]" = (
    weakref.WeakKeyDictionary()
)


async def user_for(key: str):
    if not key:
        return AnonymousUser()
    loop = asyncio.get_running_loop()
    pending = _in_flight.setdefault(loop, {})
    answer = pending.get(key)
    if answer is None:
        answer = pending[key] = loop.run_in_executor(_pool, _lookup, key)
        answer.add_done_callback(lambda _: pending.pop(key, None))
    # Shielded: one websocket closing while it waits does not cancel the others' answer.
    return await asyncio.shield(answer)


class SessionAuthMiddleware:
    """Sets scope["user"] for the websocket consumers inside it."""

    def __init__(self, inner) -> None:
        self.inner = inner

    async def __call__(self, scope, receive, send):
        user = await user_for(session_key(scope))
        return await self.inner(dict(scope, user=user), receive, send)
