"""Flow control for HTTP responses served by daphne: a streamed body is made only as fast as
the client reads it.

daphne's `send` returns once a body message is handed to Twisted, however slowly the client
reads: a 104 MB log downloaded at 7 MB/s piled up in Twisted's write buffer and grew daphne
by 140 MiB and more (django/daphne#170). Twisted pauses and resumes a push producer
registered with the request as the connection's buffer fills and drains; the `send` given to
the application here waits while it is paused. The request is found behind daphne's `send`
by compat.daphne_request (an internal detail of daphne's, kept there).
"""

import asyncio

from containers_app.compat import daphne_request

# Twisted asks for a pause once it holds 64 KiB, which each of Django's 64 KiB chunks reaches:
# honouring every pause cost a trip through the event loop per chunk (three times the loop's
# wakeups, and a fast download 15-20% slower, measured). So a pause is honoured once this many
# more bytes were sent; Twisted holds at most that besides its own 64 KiB.
LEEWAY = 1024 * 1024


class Producer:
    """A Twisted push producer for one response, and the `send` that waits on it.

    Twisted calls pauseProducing, resumeProducing and stopProducing from the reactor, which
    daphne runs on the asyncio event loop (asyncioreactor): the same thread as `send`, so a
    plain asyncio.Event is safe."""

    def __init__(self, request, send) -> None:
        self.request = request
        self.downstream = send
        self.writable = asyncio.Event()
        self.writable.set()
        self.stopped = False
        self.registered = False
        self.sent_paused = 0  # bytes sent since Twisted asked for a pause

    # IPushProducer, called by Twisted.
    def pauseProducing(self) -> None:
        self.writable.clear()

    def resumeProducing(self) -> None:
        self.sent_paused = 0
        self.writable.set()

    def stopProducing(self) -> None:
        """The connection is gone."""
        self.stopped = True
        self.writable.set()

    def register(self) -> None:
        if self.registered:
            return
        if getattr(self.request, "channel", None) is None:  # the connection is gone already
            self.stopProducing()
            return
        self.request.registerProducer(self, True)
        self.registered = True

    def unregister(self) -> None:
        """Before the request finishes (Twisted logs an error if a producer is still there)
        and at the end whatever happened."""
        if not self.registered:
            return
        self.registered = False
        if getattr(self.request, "channel", None) is not None:  # None once the client left
            self.request.unregisterProducer()

    async def send(self, message: dict) -> None:
        if self.stopped:
            # Django's send_response ends the response (closing its iterator, and so the
            # engine's response) on a CancelledError from `send`: the client went away.
            raise asyncio.CancelledError("the client went away")
        more = message["type"] == "http.response.body" and message.get("more_body", False)
        if more:
            # Registered before the write, so that a write filling the buffer pauses it.
            self.register()
        elif message["type"] == "http.response.body":
            self.unregister()
        await self.downstream(message)
        if not more:
            return
        if not self.writable.is_set():
            self.sent_paused += len(message.get("body", b""))
            if self.sent_paused >= LEEWAY:
                await self.writable.wait()
        if self.stopped:
            raise asyncio.CancelledError("the client went away")


class FlowControl:
    """ASGI middleware for HTTP: under daphne, a response's body messages wait for the
    client to take what was sent; elsewhere the application runs as it is."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send) -> None:
        request = daphne_request(send) if scope["type"] == "http" else None
        if request is None:
            return await self.application(scope, receive, send)
        producer = Producer(request, send)
        try:
            return await self.application(scope, receive, producer.send)
        finally:
            producer.unregister()
