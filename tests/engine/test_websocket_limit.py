"""One user's open websockets are counted across every route (logs, live pages, stats) against
BERTH_MAX_WEBSOCKETS_PER_USER; the one past it is closed with 4429."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from tests.conftest import HOME_TEAM, member, unique
from tests.engine.sockets import connected, router, stop_shared_upstreams

# Committed users: the sockets look up their teams on threads of their own.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_shared_upstreams():
    yield
    stop_shared_upstreams()


async def someone():
    """A signed-in user of its own (a viewer of the home team), so no other test's sockets
    count against it."""
    return await sync_to_async(member)(unique("u"), HOME_TEAM, "viewer")


async def test_a_users_sockets_on_every_route_count_against_one_limit(make, settings):
    settings.MAX_WEBSOCKETS_PER_USER = 3
    user = await someone()
    c = make.container()
    opened = [
        await connected("/ws/live/?page=containers", user),
        await connected("/ws/stats/", user),
        await connected(f"/ws/containers/{c['Id']}/logs/?follow=1", user),
    ]

    extra = WebsocketCommunicator(router, f"/ws/containers/{c['Id']}/logs/")
    extra.scope["user"] = user
    assert (await extra.connect())[0]
    told = await extra.receive_output(5)
    assert "Too many open connections for this user (limit 3)" in told["text"]
    assert await extra.receive_output(5) == {
        "type": "websocket.close",
        "code": 4429,
        "reason": "Too many open connections for this user (limit 3): close some tabs.",
    }
    await extra.disconnect()
    # Someone else is not held back by this user's sockets.
    others = await connected("/ws/live/?page=containers", await someone())

    await opened[0].disconnect()
    again = await connected("/ws/live/?page=images", user)
    for communicator in [*opened[1:], others, again]:
        await communicator.disconnect()
