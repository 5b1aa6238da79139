"""How many websockets one user may have open (consumers/base.py): the one past the limit is
closed with 4429, and a socket's count is given back however it ended."""

import json
import secrets
from types import SimpleNamespace

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from containers_app.consumers.base import Consumer

REASON = "Too many open connections for this user (limit {}): close some tabs."


class Accepting(Consumer):
    async def connect(self) -> None:
        await self.accept()


class Refusing(Consumer):
    # Not 4403, which for a signed-in user also writes an audit entry, in the database these
    # tests do without (tests/engine/test_audit_page.py tests that).
    async def connect(self) -> None:
        await self.close(code=4400)


class Failing(Consumer):
    async def connect(self) -> None:
        raise RuntimeError("connect() failed")


def someone():
    """A signed-in user of its own, so no other test's sockets count against it."""
    return SimpleNamespace(is_authenticated=True, is_active=True, pk=secrets.randbits(48))


def socket(consumer, user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(consumer.as_asgi(), "/ws/test/")
    communicator.scope["user"] = user
    return communicator


async def turned_away(communicator: WebsocketCommunicator) -> dict:
    """The close message of a socket over the limit: accepted first, so that a browser gets
    the code (a handshake refused reaches it as 1006), and told why in a message first, as
    daphne does not pass a close frame's reason on."""
    accepted, _ = await communicator.connect()
    assert accepted
    told = json.loads((await communicator.receive_output(5))["text"])
    closed = await communicator.receive_output(5)
    await communicator.disconnect()
    assert told == {"state": "ended", "error": closed["reason"], "notice": closed["reason"]}
    return closed


async def test_the_socket_past_the_default_limit_of_50_is_closed_with_4429():
    user = someone()
    opened = [socket(Accepting, user) for _ in range(50)]
    for communicator in opened:
        assert await communicator.connect() == (True, None)

    closed = await turned_away(socket(Accepting, user))
    assert closed == {"type": "websocket.close", "code": 4429, "reason": REASON.format(50)}
    # Another user's sockets are their own.
    assert await socket(Accepting, someone()).connect() == (True, None)

    await opened[0].disconnect()
    again = socket(Accepting, user)
    assert await again.connect() == (True, None)
    for communicator in [*opened[1:], again]:
        await communicator.disconnect()


async def test_a_socket_refused_by_connect_counts_until_it_is_gone(settings):
    settings.MAX_WEBSOCKETS_PER_USER = 1
    user = someone()
    refused = socket(Refusing, user)
    assert await refused.connect() == (False, 4400)
    assert (await turned_away(socket(Accepting, user)))["code"] == 4429

    await refused.disconnect()
    after = socket(Accepting, user)
    assert await after.connect() == (True, None)
    await after.disconnect()


async def test_a_socket_whose_connect_raised_gives_its_count_back(settings):
    settings.MAX_WEBSOCKETS_PER_USER = 1
    user = someone()
    with pytest.raises(RuntimeError, match="connect"):
        await socket(Failing, user).connect()

    after = socket(Accepting, user)
    assert await after.connect() == (True, None)
    assert (await turned_away(socket(Accepting, user)))["code"] == 4429
    await after.disconnect()


async def test_a_socket_the_server_cancelled_gives_its_count_back(settings):
    settings.MAX_WEBSOCKETS_PER_USER = 1
    user = someone()
    first = socket(Accepting, user)
    assert await first.connect() == (True, None)
    assert (await turned_away(socket(Accepting, user)))["code"] == 4429
    first.future.cancel()  # as daphne does with an application that outlives its socket
    await first.wait()

    after = socket(Accepting, user)
    assert await after.connect() == (True, None)
    await after.disconnect()


async def test_anonymous_sockets_are_left_to_the_consumers_own_refusal(settings):
    settings.MAX_WEBSOCKETS_PER_USER = 0
    assert (await turned_away(socket(Accepting, someone())))["code"] == 4429
    anonymous = socket(Accepting, AnonymousUser())
    assert await anonymous.connect() == (True, None)
    await anonymous.disconnect()
