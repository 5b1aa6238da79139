"""An engine response body handed to a browser as a download, block by block."""

from containers_app.engine.raw import RawStream
from containers_app.streams.executor import engine_call


class StreamedBody:
    """An open engine response (`docker save`'s tar, say) as an async iterator of blocks for
    StreamingHttpResponse: under ASGI, Django reads a synchronous iterator whole before it
    sends a byte. Each block is read in the engine executor only when the one before was
    taken; closing it, or cancelling a read (the client went away), closes the response."""

    def __init__(self, stream: RawStream) -> None:
        self.stream = stream
        self.closed = False

    def __aiter__(self) -> "StreamedBody":
        return self

    async def __anext__(self) -> bytes:
        if self.closed:
            raise StopAsyncIteration
        try:
            block = await engine_call(self.stream.read)
        except BaseException:
            self.close()
            raise
        if not block:
            self.close()
            raise StopAsyncIteration
        return block

    def close(self) -> None:
        """Django calls this once the response is done, whatever ended it."""
        if not self.closed:
            self.closed = True
            self.stream.close()

    async def aclose(self) -> None:
        self.close()
