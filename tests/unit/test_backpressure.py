"""Flow control of HTTP responses under daphne, with a stand-in for Twisted's request: the
body waits while Twisted has paused the producer, and a client gone ends it. The same against
a real daphne is in tests/engine/test_download_pace.py."""

import asyncio

import pytest

from containers_app.backpressure import LEEWAY, FlowControl, Producer

CHUNK = 64 * 1024


class Request:
    """Twisted's Request as far as the producer uses it; each body write fills its buffer,
    so Twisted asks the producer to pause, as it does for each 64 KiB chunk."""

    def __init__(self) -> None:
        self.channel = object()
        self.producer = None
        self.sent: list[dict] = []
        self.producer_at_send: list[object] = []

    def registerProducer(self, producer, streaming: bool) -> None:
        assert streaming and self.producer is None
        self.producer = producer

    def unregisterProducer(self) -> None:
        self.producer = None

    async def send(self, message: dict) -> None:
        self.sent.append(message)
        self.producer_at_send.append(self.producer)
        if message["type"] == "http.response.body" and self.producer is not None:
            self.producer.pauseProducing()


def body(more: bool = True) -> dict:
    return {"type": "http.response.body", "body": b"0" * CHUNK, "more_body": more}


async def fill(producer: Producer) -> asyncio.Task:
    """Sends chunks until one waits; that send's task."""
    await producer.send({"type": "http.response.start", "status": 200, "headers": []})
    for _ in range(LEEWAY // CHUNK + 2):
        task = asyncio.create_task(producer.send(body()))
        await asyncio.sleep(0)
        if not task.done():
            return task
    raise AssertionError("no send waited")


async def test_under_any_other_server_the_application_gets_the_servers_own_send():
    got = []

    async def application(scope, receive, send) -> None:
        got.append(send)

    async def send(message) -> None:
        pass

    await FlowControl(application)({"type": "http"}, None, send)
    assert got == [send]


async def test_a_paused_response_waits_after_its_leeway_until_twisted_resumes_it():
    request = Request()
    producer = Producer(request, request.send)
    waiting = await fill(producer)

    # Twisted paused at the first chunk; the leeway went on, and the send past it waits.
    assert CHUNK * (len(request.sent) - 1) == LEEWAY
    producer.resumeProducing()
    await asyncio.wait_for(waiting, 1)
    await asyncio.wait_for(producer.send(body()), 1)


async def test_the_producer_is_registered_for_the_body_and_unregistered_before_it_ends():
    request = Request()
    producer = Producer(request, request.send)
    await producer.send({"type": "http.response.start", "status": 200, "headers": []})
    await producer.send(body())
    await producer.send(body(more=False))

    assert request.producer_at_send == [None, producer, None]
    assert request.producer is None


async def test_a_client_gone_releases_a_waiting_send_and_ends_the_response():
    request = Request()
    producer = Producer(request, request.send)
    waiting = await fill(producer)
    sent = len(request.sent)

    producer.stopProducing()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(waiting, 1)
    with pytest.raises(asyncio.CancelledError):
        await producer.send(body())
    assert len(request.sent) == sent  # nothing more is written
