"""Streaming Engine API requests on a plain socket, read in large blocks; and the few small
calls an open terminal makes, which cost the SDK ten times the processor time.

The SDK reads a TTY log stream one byte per chunk and decodes HTTP chunking in Python per
frame. Asking in HTTP/1.0 makes the engine send the body as it is, unchunked, and close the
connection at its end, so a reader can take 256 KiB at a time and split frames itself.
"""

import contextlib
import json
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urlencode, urlsplit

from containers_app.engine import ssh, tls
from containers_app.engine.client import Engine, api
from containers_app.engine.errors import (
    Conflict,
    EngineError,
    EngineUnavailable,
    InvalidRequest,
    NotFound,
    tls_reason,
    translate,
    translated,
)

READ_SIZE = 256 * 1024


@dataclass
class RawStream:
    """An open response body: `first` holds the bytes read past the headers."""

    sock: socket.socket
    first: bytes
    # The engine resets, rather than closes, a connection whose request body it left partly
    # unread (the padding after a tar's end, which it never reads): after a body, a reset
    # is the end of the answer, everything before it having been read already.
    reset_ends: bool = False

    def read(self) -> bytes:
        """The next block of the body; b"" at its end."""
        if self.first:
            data, self.first = self.first, b""
            return data
        try:
            return self.sock.recv(READ_SIZE)
        except ConnectionResetError:
            if self.reset_ends:
                return b""
            raise

    def read_ready(self) -> bytes | None:
        """The next block if it is there already (b"" at the body's end); None if a read
        would wait."""
        if self.first:
            return self.read()
        if isinstance(self.sock, ssl.SSLSocket):
            # TLS takes no flags: whatever it holds decrypted, or a non-blocking read.
            return _ready_tls(self.sock)
        try:
            return self.sock.recv(READ_SIZE, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def _ready_tls(sock: ssl.SSLSocket) -> bytes | None:
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        return sock.recv(READ_SIZE)
    except (ssl.SSLWantReadError, BlockingIOError):
        return None
    finally:
        sock.settimeout(timeout)


def _connect(engine: Engine, timeout: float) -> socket.socket:
    """A new connection to the engine: its unix socket, TCP (with TLS when it has a CA), or a
    channel of one of its SSH connections."""
    url = urlsplit(engine.base_url)
    if engine.unusable:
        raise EngineUnavailable(engine.unusable, engine=engine.base_url)
    if url.scheme == "ssh":
        try:
            return ssh.open_channel(engine, timeout)  # type: ignore[return-value]
        except Exception as error:
            raise translate(error, engine=engine.base_url) from error
    if url.scheme in ("unix", "http+unix"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target: object = url.path
    elif url.scheme in ("tcp", "http", "https"):
        sock = socket.socket(socket.AF_INET6 if ":" in (url.hostname or "") else socket.AF_INET)
        target = (url.hostname, url.port or (2376 if engine.tls_ca else 2375))
    else:
        raise EngineUnavailable(
            f"streams are not supported over {url.scheme}://", engine=engine.base_url
        )
    sock.settimeout(timeout)
    try:
        sock.connect(target)
        if engine.tls_ca:
            sock = tls.wrap(engine, sock, url.hostname or "")
    except OSError as error:
        sock.close()
        if isinstance(error, ssl.SSLError):
            raise EngineUnavailable(tls_reason(error), engine=engine.base_url) from error
        raise EngineUnavailable(error.strerror or str(error), engine=engine.base_url) from error
    return sock


def _status_error(status: int, body: bytes, engine: str) -> EngineError:
    try:
        reason = json.loads(body.decode("utf-8", "replace")).get("message", "")
    except ValueError:
        reason = body.decode("utf-8", "replace").strip()
    reason = reason or f"the engine answered {status}"
    # As errors.translate does for the SDK's: 403 is a network that still has endpoints.
    if status == 404:
        return NotFound(reason, engine=engine)
    if status in (409, 403):
        return Conflict(reason, engine=engine)
    if 400 <= status < 500:
        return InvalidRequest(reason, engine=engine)
    return EngineError(reason, engine=engine)


def _request(
    engine: Engine,
    request: bytes,
    timeout: float | None,
    ok: tuple[int, ...],
    body: BinaryIO | None = None,
    wait_for_answer: bool = False,
    on_connect: Callable[[socket.socket], None] | None = None,
) -> RawStream:
    """Sends `request` (then `body`, block by block) and reads the answer's headers; raises
    the engine's error if the status is not one of `ok`. `wait_for_answer`: no time limit
    on the headers once the request is sent (a load answers after reading its layers).
    `on_connect` gets the socket before anything is sent: a job's cancel shuts it, which
    cuts short an upload or a wait for the answer."""
    sock = _connect(engine, timeout or engine.timeout)
    try:
        if on_connect is not None:
            on_connect(sock)
        sock.sendall(request)
        broken_off = _send_body(sock, body) if body is not None else None
        if wait_for_answer:
            sock.settimeout(None)
        head = b""
        while b"\r\n\r\n" not in head:
            data = sock.recv(READ_SIZE)
            if not data:
                raise broken_off or EngineUnavailable(
                    "the engine closed the connection", engine=engine.base_url
                )
            head += data
        header, _, first = head.partition(b"\r\n\r\n")
        status = int(header.split(b" ", 2)[1])
        if status not in ok:
            raise _status_error(status, _rest(sock, first), engine.base_url)
    except OSError as error:
        sock.close()
        raise EngineUnavailable(str(error), engine=engine.base_url) from error
    except BaseException:
        sock.close()
        raise
    sock.settimeout(None)
    return RawStream(sock=sock, first=first, reset_ends=body is not None)


def _send_body(sock: socket.socket, body: BinaryIO) -> OSError | None:
    """Sends `body` block by block. The engine may answer before it has read it all (a
    build context that is not a tar) and close the connection: the sending breaks off, and
    the answer, sent already, says why; the error is returned for when there is none."""
    try:
        while block := body.read(READ_SIZE):
            sock.sendall(block)
    except (BrokenPipeError, ConnectionResetError) as error:
        return error
    return None


def _rest(sock: socket.socket, first: bytes) -> bytes:
    """An error answer's whole body (a reset ends it, as in RawStream.read)."""
    body = first
    try:
        while data := sock.recv(READ_SIZE):
            body += data
    except ConnectionResetError:
        pass
    return body


def _version(engine: Engine) -> str:
    with translated(engine.base_url):
        return api(engine).api_version


def open_stream(
    engine: Engine, path: str, params: dict[str, object], *, timeout: float | None = None
) -> RawStream:
    """GETs `path` (e.g. /containers/<id>/logs) and returns its body as a RawStream.

    `timeout` bounds connecting and the answer's headers; reads after that block until data
    comes (a followed stream may stay quiet for hours).
    """
    query = urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)
    request = f"GET /v{_version(engine)}{path}?{query} HTTP/1.0\r\nHost: docker\r\n\r\n"
    return _request(engine, request.encode(), timeout, ok=(200,))


def request_json(
    engine: Engine,
    method: str,
    path: str,
    *,
    params: dict[str, object] | None = None,
    body: object = None,
    timeout: float | None = None,
    on_connect: Callable[[socket.socket], None] | None = None,
) -> object:
    """One request and its whole answer, decoded (None when empty). For the calls a terminal
    makes (exec create, resize, inspect): the SDK spends about ten times the processor time
    on each, which every open terminal and every resize pays. `timeout`: for the answer, when
    longer than the engine's (a commit); `on_connect`: see _request."""
    query = urlencode({k: v for k, v in (params or {}).items() if v is not None}, doseq=True)
    payload = b"" if body is None else json.dumps(body).encode()
    request = (
        f"{method} /v{_version(engine)}{path}{'?' if query else ''}{query} HTTP/1.0\r\n"
        f"Host: docker\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload
    stream = _request(engine, request, timeout, ok=(200, 201, 204), on_connect=on_connect)
    try:
        stream.sock.settimeout(timeout or engine.timeout)
        data = stream.first
        while block := stream.sock.recv(READ_SIZE):
            data += block
    except OSError as error:
        raise EngineUnavailable(str(error), engine=engine.base_url) from error
    finally:
        stream.close()
    try:
        return json.loads(data) if data.strip() else None
    except ValueError as error:
        reason = "the engine's answer could not be read"
        raise EngineError(reason, engine=engine.base_url) from error


def open_post(
    engine: Engine,
    path: str,
    params: dict[str, object],
    *,
    headers: dict[str, str] | None = None,
    body: BinaryIO | None = None,
    size: int = 0,
    on_connect: Callable[[socket.socket], None] | None = None,
) -> RawStream:
    """POSTs to `path` (pull, push, build, load) and returns the answer's body as it comes.
    `body` (a build context, an image's tar) is sent block by block, never whole in memory.
    Nothing but closing the stream cuts it short: a pull of gigabytes may take an hour."""
    query = urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)
    lines = [f"POST /v{_version(engine)}{path}?{query} HTTP/1.0", "Host: docker"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    lines.append(f"Content-Length: {size if body is not None else 0}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    return _request(
        engine,
        request,
        None,
        ok=(200,),
        body=body,
        wait_for_answer=True,
        on_connect=on_connect,
    )


class Messages:
    """The JSON messages of a pull, push, build or load, one per line as the engine writes
    them, decoded as they come; a line that is not JSON comes as {"stream": line}."""

    def __init__(self, stream: RawStream) -> None:
        self.stream = stream

    def __iter__(self) -> Iterator[dict]:
        pending = b""
        while block := self.stream.read():
            lines = (pending + block).split(b"\n")
            pending = lines.pop()
            yield from (_message(line) for line in lines if line.strip())
        if pending.strip():
            yield _message(pending)

    def close(self) -> None:
        self.stream.close()


def _message(line: bytes) -> dict:
    try:
        message = json.loads(line)
    except ValueError:
        message = None
    if isinstance(message, dict):
        return message
    return {"stream": line.decode("utf-8", "replace").rstrip("\r") + "\n"}


def open_hijacked(engine: Engine, path: str, body: dict) -> RawStream:
    """POSTs `body` to `path` asking for the connection (exec start, attach): the socket
    then carries the process's input one way and its output the other."""
    payload = json.dumps(body).encode()
    request = (
        f"POST /v{_version(engine)}{path} HTTP/1.1\r\nHost: docker\r\n"
        "Content-Type: application/json\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload
    return _request(engine, request, None, ok=(101, 200))
