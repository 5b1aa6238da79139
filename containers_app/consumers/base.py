"""The base of every websocket consumer here: each message goes straight to its handler."""

import contextlib

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer


class Consumer(AsyncWebsocketConsumer):
    """Channels' consumers listen to the channel layer as well as the client, through
    asyncio.wait and a new task for every message, and close stale database connections
    before every message on asgiref's one shared thread. Ours join no groups (streams/ fans
    out in the process) and touch the database only in the auth middleware, whose queries
    close their own connections: with 200 viewers acknowledging frames, or a terminal's
    keystrokes, that work was a large part of the server's."""

    # A consumer that joins groups sets this, and gets channels' own loop.
    uses_channel_layer = False

    async def __call__(self, scope, receive, send) -> None:
        if self.uses_channel_layer:
            await super().__call__(scope, receive, send)
            return
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        with contextlib.suppress(StopConsumer):
            while True:
                await self.dispatch(await receive())

    async def websocket_disconnect(self, message: dict) -> None:
        if self.uses_channel_layer:
            await super().websocket_disconnect(message)
        await self.disconnect(message["code"])
        raise StopConsumer

    async def dispatch(self, message: dict) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
