"""Everything in Berth that copies or reaches into Django, Channels or daphne internals.

Each piece says what internal it relies on, why Berth does not use the public way (what was
measured), and the benchmark or test that justifies it. WRITTEN_FOR names the versions they
were written against: a Django system check (and `python -m dashboard.serve`, as daphne runs
no checks) refuses others, and tests/unit/test_compat.py fails when an upgrade breaks one.
On an upgrade: read each piece against the new version, run that test and the benchmarks
named, then update WRITTEN_FOR.

Daphne's modules are imported where they are used: daphne.server loads Twisted (and installs
its reactor), which a process that does not serve should not pay for.
"""

import contextlib
import sys
from functools import partial
from importlib import metadata

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from daphne.access import AccessLogGenerator
from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
    load_backend,
)
from django.core import checks
from django.core.exceptions import ValidationError
from django.utils.crypto import constant_time_compare

__all__ = [
    "SWITCH_SECONDS",
    "WRITTEN_FOR",
    "DirectDispatch",
    "PathRewritingAccessLog",
    "StopConsumer",
    "check_versions",
    "daphne_request",
    "run_daphne",
    "session_user",
    "set_switch_interval",
]

# ---------------------------------------------------------------------------------------------
# The versions this file was written for (major.minor, as requirements.txt pins them: patch
# releases pass). A distribution name as its metadata spells it -> "major.minor".
WRITTEN_FOR = {"Django": "5.2", "channels": "4.3", "daphne": "4.2"}
CHECK_ID = "containers_app.E001"


def installed_version(name: str) -> str | None:
    """The installed version of distribution `name`, or None if it is not installed."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def check_versions(app_configs=None, **kwargs) -> list[checks.Error]:
    """A Django system check (registered by containers_app.apps): an Error for each of
    Django, Channels and daphne whose installed major.minor is not the one in WRITTEN_FOR."""
    errors = []
    for name, written in WRITTEN_FOR.items():
        installed = installed_version(name)
        if installed is not None and _major_minor(installed) == written:
            continue
        if installed is None:
            message = f"but {name} is not installed."
            hint = f"Install {name} as requirements.txt pins it."
        else:
            message = f"but {name} {installed} is installed."
            hint = (
                f"compat.py was written for {name} {written}; review it against "
                f"{name} {installed} before upgrading, then update WRITTEN_FOR."
            )
        errors.append(
            checks.Error(
                f"containers_app/compat.py was written for {name} {written}, {message}",
                hint=hint,
                id=CHECK_ID,
            )
        )
    return errors


# ---------------------------------------------------------------------------------------------
# Channels: the consumer's dispatch loop.
#
# Relies on: channels.consumer.get_handler_name (a message's "type" -> the handler's name),
# channels.exceptions.StopConsumer (how a handler ends the consumer), and the attributes
# AsyncConsumer.__call__ sets and the rest of the consumer reads: scope, channel_layer and
# base_send (AsyncConsumer.send writes through self.base_send).
#
# Why: Channels' AsyncConsumer.__call__ listens to the channel layer as well as the client,
# through asyncio.wait and a new task for every message (utils.await_many_dispatch), and its
# dispatch closes stale database connections before every message on asgiref's one shared
# thread (aclose_old_connections). Berth's consumers join no groups (streams/ fans out in the
# process) and touch the database only through consumers.auth.database_call, whose threads
# close broken connections themselves: with 200 viewers acknowledging frames, or a terminal's
# keystrokes, that work was a large part of the server's.
# AsyncWebsocketConsumer.websocket_disconnect closes old connections too (on that shared
# thread): consumers.base.Consumer's own ends the consumer without it.
# Benchmarks: bench/fanout.py (200 viewers of one log and of the containers list) and
# bench/exec_latency.py (a keystroke's echo).


class DirectDispatch(AsyncWebsocketConsumer):
    """A websocket consumer whose messages from the client go straight to their handler, on
    the connection's own task, with no channel layer and no per-message database cleanup."""

    # A consumer that joins groups sets this, and gets Channels' own loop (still through the
    # dispatch below).
    uses_channel_layer = False

    async def __call__(self, scope, receive, send) -> None:
        if self.uses_channel_layer:
            await super().__call__(scope, receive, send)
            return
        # What AsyncConsumer.__call__ sets, without a channel layer.
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        with contextlib.suppress(StopConsumer):
            while True:
                await self.dispatch(await receive())

    async def dispatch(self, message: dict) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)


# ---------------------------------------------------------------------------------------------
# Django: the session-to-user check of django.contrib.auth.get_user, for websockets.
#
# Relies on: the session keys SESSION_KEY, BACKEND_SESSION_KEY and HASH_SESSION_KEY that
# django.contrib.auth.login writes, load_backend, and the user's get_session_auth_hash and
# get_session_auth_fallback_hash (SECRET_KEY_FALLBACKS); it is get_user's verification, copied.
#
# Why: get_user takes a request and, on a session that does not verify, flushes it (or cycles
# its key): Channels' AuthMiddlewareStack calls it on asgiref's one shared thread, opening and
# closing a database connection each time (1.7 ms a lookup, against 1.0 ms on a connection kept
# open), so sixteen terminals opened at once waited for each other. consumers.auth runs this
# copy on a pool of its own whose threads keep their connection, and it only reads: a
# websocket never changes what the browser's cookie means.
# Benchmark: bench/isolation.py (16 terminals opened at once).


def session_user(session):
    """The active user `session` (a SessionStore) was signed in as, if the session still
    verifies (the password is the one it was signed in with, under SECRET_KEY or one of
    SECRET_KEY_FALLBACKS); else AnonymousUser. Reads the session, never changes it."""
    # As get_user does: the auth models need the app registry, which serve.py has not yet.
    from django.contrib.auth.models import AnonymousUser

    try:
        user_id = get_user_model()._meta.pk.to_python(session[SESSION_KEY])
        backend_path = session[BACKEND_SESSION_KEY]
    except (KeyError, ValidationError):
        return AnonymousUser()
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return AnonymousUser()
    user = load_backend(backend_path).get_user(user_id)
    if user is None:
        return AnonymousUser()
    # Signed in before a password change (or with a retired secret key): not any more.
    stamp = session.get(HASH_SESSION_KEY) or ""
    hashes = [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
    if not any(constant_time_compare(stamp, known) for known in hashes):
        return AnonymousUser()
    return user


# ---------------------------------------------------------------------------------------------
# daphne: the protocol object behind the ASGI `send` it gives the application.
#
# Relies on: daphne.server.Server.create_application handing the application
# `send=partial(self.handle_reply, protocol)`, where protocol, for HTTP, is the
# daphne.http_protocol.WebRequest (a twisted.web request) of the connection.
#
# Why: daphne's `send` returns once a body message is handed to Twisted, however slowly the
# client reads: a 104 MB log downloaded at 7 MB/s piled up in Twisted's write buffer and grew
# daphne by 140 MiB and more (django/daphne#170). containers_app.backpressure registers a push
# producer with that request so that a streamed body goes at the client's pace.
# No benchmark: tests/engine/test_download_pace.py measures it against a real daphne (and
# fails if this finds nothing).


def daphne_request(send) -> object | None:
    """The twisted.web request behind daphne's `send`, or None under any other server or
    test client."""
    # Loaded by daphne when it serves; importing it here would load Twisted in every process.
    http_protocol = sys.modules.get("daphne.http_protocol")
    if http_protocol is None or not isinstance(send, partial) or not send.args:
        return None
    request = send.args[0]
    return request if isinstance(request, http_protocol.WebRequest) else None


# ---------------------------------------------------------------------------------------------
# daphne: its command line's access logger.
#
# Relies on: daphne.cli.CommandLineInterface.run building its access logger as
# `AccessLogGenerator(stream)` from the name in daphne.cli's module (replaced here for the
# process), daphne.access.AccessLogGenerator's __call__(protocol, action, details) with the
# request's path in details["path"], and CommandLineInterface.entrypoint (daphne's own
# command).
#
# Why: daphne writes every request's path to its access log, and a wall screen's link
# (/screens/<token>/) is as good as a password for as long as the screen lives. Daphne has no
# option to change what it logs. A security measure: no benchmark; tests/unit/test_serve.py.


class PathRewritingAccessLog(AccessLogGenerator):
    """daphne's access log, with each request's path passed through rewrite_path first."""

    @staticmethod
    def rewrite_path(path: str) -> str:
        return path

    def __call__(self, protocol, action, details) -> None:
        if isinstance(details.get("path"), str):
            details = {**details, "path": self.rewrite_path(details["path"])}
        super().__call__(protocol, action, details)


def run_daphne(access_log: type[AccessLogGenerator]) -> None:
    """Runs daphne's command line (its arguments from sys.argv) with `access_log` as the class
    of its access logger."""
    from daphne import cli  # loads Twisted and installs its reactor

    cli.AccessLogGenerator = access_log
    cli.CommandLineInterface.entrypoint()


# ---------------------------------------------------------------------------------------------
# Python: the interpreter's thread switch interval, for the whole process.
#
# Relies on: sys.setswitchinterval (CPython's GIL hand-over interval, 5 ms by default).
#
# Why: streams/ reader threads cut logs into lines while holding the GIL; at Python's default
# interval the event loop could wait 5 ms for it before answering a keystroke. A reader takes
# about 1 ms for a 256 KiB read, so the loop gets its turn at least that often.
# Benchmark: bench/exec_latency.py (a keystroke's echo while a log floods).
SWITCH_SECONDS = 0.001


def set_switch_interval() -> None:
    """Called once at start (containers_app.apps): never lengthens a shorter interval."""
    sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_SECONDS))
