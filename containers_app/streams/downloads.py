"""An engine response body handed to a browser as a download, block by block."""

from containers_app.engine.raw import RawStream
from containers_app.streams.executor import engine_call


class StreamedBody:
    """An open engine response (`docker save`'s tar, say) as an async iterator of blocks for
    StreamingHttpResponse: under ASGI, Django reads a synchronous iterator whole before it
    sends a byte. Each block is read in the engine executor only when the one before was
    taken, so a download holds about one block whatever its size; closing it, or cancelling
    a read (the client went away), closes the response. A subclass may open the response
    in its first `_read` and shape the blocks it reads."""

    def __init__(self, stream: RawStream | None = None) -> None:
        self.stream = stream
        self.ended = False  # the last block was read; a subclass's _read says so
        self.closed = False

    def __aiter__(self) -> "StreamedBody":
        return self

    async def __anext__(self) -> bytes:
        if self.closed or self.ended:
            self.close()
            raise StopAsyncIteration
        try:
            block = await engine_call(self._read)
        except BaseException:
            self.close()
            raise
        if not block:
            self.close()
            raise StopAsyncIteration
        return block

    def _read(self) -> bytes:
        """The next block, b"" at the end. Runs in the engine executor."""
        assert self.stream is not None
        return self.stream.read()

    def close(self) -> None:
        """Closes the engine's response; a read in the executor wakes and ends. Django calls
        this once the response is done, whatever ended it."""
        self.closed = True
        if self.stream is not None:
            self.stream.close()

    async def aclose(self) -> None:
        self.close()
