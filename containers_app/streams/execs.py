"""An exec's terminal: its socket made non-blocking and read on the event loop itself, so a
keystroke's echo takes no thread hop. Output waits for the browser's acknowledgement when
too much of it is unread, so a flood cannot grow the server's memory.

A plain socket (unix, TCP) goes through the loop's own sock_recv and sock_sendall; a TLS
socket or an SSH channel, which those refuse, is read and written without blocking, waiting
on the loop for its descriptor to be readable (TLS may also hold decrypted bytes, asked for
first)."""

import asyncio
import contextlib
import secrets
import socket
import ssl
from collections.abc import Awaitable, Callable

from containers_app.engine import Engine, EngineError
from containers_app.engine import execs as engine_execs
from containers_app.engine.raw import READ_SIZE, RawStream
from containers_app.streams.executor import engine_call

UNACKED_BYTES = 1024 * 1024
WRITE_RETRY_SECONDS = 0.005
# Set in an exec's environment, so its processes can be found to hang them up.
MARKER_VARIABLE = "BERTH_EXEC"


class ExecSession:
    def __init__(
        self,
        engine: Engine,
        exec_id: str,
        stream: RawStream,
        *,
        container_id: str = "",
        user: str = "",
        marker: str = "",
    ) -> None:
        self.engine = engine
        self.exec_id = exec_id
        self.stream = stream
        self.container_id = container_id
        self.user = user
        self.marker = marker
        self.sock = stream.sock
        self.sock.setblocking(False)
        # The loop's sock_recv and sock_sendall take plain sockets only.
        self.plain = type(self.sock) is socket.socket
        self.unacked = 0
        self._acked = asyncio.Event()
        self.ended = False  # the engine said the process ended

    @classmethod
    async def start(
        cls,
        engine: Engine,
        container_id: str,
        command: list[str],
        *,
        user: str,
        workdir: str,
        size: tuple[int, int] | None = None,
    ) -> "ExecSession":
        """Creates the exec, starts it and, given (rows, cols), sizes its terminal: in one
        trip to a pooled thread, since each trip back waits its turn on a busy loop."""
        token = secrets.token_hex(8)

        def open_exec() -> tuple[str, RawStream]:
            exec_id = engine_execs.exec_create(
                engine=engine,
                container_id=container_id,
                command=command,
                user=user,
                workdir=workdir,
                environment={MARKER_VARIABLE: token},
            )
            stream = engine_execs.exec_attach(engine=engine, exec_id=exec_id)
            if size:
                with contextlib.suppress(EngineError):  # the process may be gone already
                    engine_execs.exec_resize(
                        engine=engine, exec_id=exec_id, rows=size[0], cols=size[1]
                    )
            return exec_id, stream

        exec_id, stream = await engine_call(open_exec)
        marker = f"{MARKER_VARIABLE}={token}"
        return cls(engine, exec_id, stream, container_id=container_id, user=user, marker=marker)

    async def pump_output(self, send: Callable[[bytes], Awaitable[None]]) -> None:
        """Forwards the process's output until it ends."""
        loop = asyncio.get_running_loop()
        if self.stream.first:
            await self._send(send, self.stream.first)
        while True:
            while self.unacked > UNACKED_BYTES:
                self._acked.clear()
                await self._acked.wait()
            try:
                data = await self._recv(loop)
            except OSError:
                return
            if not data:
                return
            await self._send(send, data)

    async def _send(self, send: Callable[[bytes], Awaitable[None]], data: bytes) -> None:
        self.unacked += len(data)
        await send(data)

    def ack(self, size: int) -> None:
        self.unacked = max(self.unacked - max(size, 0), 0)
        self._acked.set()

    async def _recv(self, loop: asyncio.AbstractEventLoop) -> bytes:
        if self.plain:
            return await loop.sock_recv(self.sock, READ_SIZE)
        while True:
            try:
                return self.sock.recv(READ_SIZE)
            except (BlockingIOError, ssl.SSLWantReadError, TimeoutError):
                await _readable(loop, self.sock.fileno())

    async def write(self, data: bytes) -> None:
        loop = asyncio.get_running_loop()
        if self.plain:
            await loop.sock_sendall(self.sock, data)
            return
        left = memoryview(data)
        while left:
            try:
                left = left[self.sock.send(left) :]
            except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError, TimeoutError):
                await asyncio.sleep(WRITE_RETRY_SECONDS)  # a full window: keystrokes are rare

    async def resize(self, rows: int, cols: int) -> None:
        await engine_call(
            engine_execs.exec_resize, engine=self.engine, exec_id=self.exec_id, rows=rows, cols=cols
        )

    async def exit_code(self) -> int | None:
        """The process's exit code; the engine may take a moment to record it."""
        for _ in range(20):
            try:
                state = await engine_call(
                    engine_execs.exec_state, engine=self.engine, exec_id=self.exec_id
                )
            except EngineError:
                return None
            if not state.running:
                self.ended = True
                return state.exit_code
            await asyncio.sleep(0.05)
        return None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.stream.close()

    async def hang_up(self) -> None:
        """Ends the process if it still runs after close(): the engine keeps a TTY exec
        running when its connection closes, so its processes get the SIGHUP a terminal's
        hang-up would send them."""
        if self.ended:
            return
        with contextlib.suppress(EngineError):
            state = await engine_call(
                engine_execs.exec_state, engine=self.engine, exec_id=self.exec_id
            )
            if state.running and self.marker:
                await engine_call(
                    engine_execs.exec_hangup,
                    engine=self.engine,
                    container_id=self.container_id,
                    marker=self.marker,
                    user=self.user,
                )


async def _readable(loop: asyncio.AbstractEventLoop, descriptor: int) -> None:
    """Returns once `descriptor` is readable."""
    ready = loop.create_future()
    loop.add_reader(descriptor, lambda: ready.done() or ready.set_result(None))
    try:
        await ready
    finally:
        loop.remove_reader(descriptor)
