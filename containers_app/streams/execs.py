"""An exec's terminal: its socket made non-blocking and read on the event loop itself, so a
keystroke's echo takes no thread hop. Output waits for the browser's acknowledgement when
too much of it is unread, so a flood cannot grow the server's memory."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from containers_app.engine import Engine, EngineError
from containers_app.engine import execs as engine_execs
from containers_app.engine.raw import READ_SIZE, RawStream
from containers_app.streams.executor import engine_call

UNACKED_BYTES = 1024 * 1024


class ExecSession:
    def __init__(self, engine: Engine, exec_id: str, stream: RawStream) -> None:
        self.engine = engine
        self.exec_id = exec_id
        self.stream = stream
        self.sock = stream.sock
        self.sock.setblocking(False)
        self.unacked = 0
        self._acked = asyncio.Event()

    @classmethod
    async def start(
        cls, engine: Engine, container_id: str, command: list[str], *, user: str, workdir: str
    ) -> "ExecSession":
        exec_id = await engine_call(
            engine_execs.exec_create,
            engine=engine,
            container_id=container_id,
            command=command,
            user=user,
            workdir=workdir,
        )
        stream = await engine_call(engine_execs.exec_attach, engine=engine, exec_id=exec_id)
        return cls(engine, exec_id, stream)

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
                data = await loop.sock_recv(self.sock, READ_SIZE)
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

    async def write(self, data: bytes) -> None:
        await asyncio.get_running_loop().sock_sendall(self.sock, data)

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
                return state.exit_code
            await asyncio.sleep(0.05)
        return None

    def close(self) -> None:
        """Closing the socket hangs up the terminal, which ends the process."""
        with contextlib.suppress(OSError):
            self.stream.close()
