"""Splitting the engine's log bytes into lines: pure functions, no I/O.

A non-TTY stream is multiplexed: each frame is an 8-byte header (stream, 0, 0, 0, size as
big-endian u32) and its payload. A TTY stream is raw bytes. Lines are cut on b"\n" and decoded
only when whole, so a multi-byte character split between reads is never broken.

Lines travel in blocks: a run of whole lines of one stream, joined by "\n" (and without the
last one's). A block costs the same to decode, measure, encode and send as one line does, so
a read of a thousand lines is a handful of blocks; only the browser cuts them into lines.
"""

import struct
from dataclasses import dataclass, field

STDOUT, STDERR = 1, 2
# A line longer than this is passed on in pieces (of up to one read), so one endless line
# cannot grow memory.
MAX_LINE = 64 * 1024
# A frame's header: its stream, three bytes of nothing, its payload's size.
_HEADER = struct.Struct(">BxxxL")


@dataclass
class LineSplitter:
    """Feeds on the bytes of a log stream, returns (stream, block) pairs of whole lines."""

    tty: bool
    _frame: bytearray = field(default_factory=bytearray)
    _partial: dict[int, bytes] = field(default_factory=dict)

    def feed(self, data: bytes) -> list[tuple[int, str]]:
        if self.tty:
            return self._lines(STDOUT, data)
        buf = self._frame
        buf += data
        out: list[tuple[int, str]] = []
        # The engine sends a frame per line: payloads of one stream in a row are joined and
        # split once, rather than frame by frame.
        run: list[bytes] = []
        run_stream = STDOUT
        pos, end = 0, len(buf)
        while end - pos >= 8:
            stream, size = _HEADER.unpack_from(buf, pos)
            if end - pos - 8 < size:
                break
            if stream != STDERR:
                stream = STDOUT
            if stream != run_stream and run:
                out += self._lines(run_stream, b"".join(run))
                run = []
            run_stream = stream
            run.append(buf[pos + 8 : pos + 8 + size])
            pos += 8 + size
        if run:
            out += self._lines(run_stream, b"".join(run))
        del buf[:pos]
        return out

    def _lines(self, stream: int, data: bytes) -> list[tuple[int, str]]:
        partial = self._partial.pop(stream, b"")
        if partial:
            data = partial + data
        whole, newline, rest = data.rpartition(b"\n")
        if len(rest) > MAX_LINE:
            whole, newline, rest = data, b"\n", b""
        if rest:
            self._partial[stream] = rest
        if not newline:
            return []
        # Decoded whole: b"\n" is never part of a multi-byte character, so this cuts where
        # splitting the bytes would.
        text = whole.decode("utf-8", "replace")
        if "\r" in text:  # a TTY's line ends
            text = text.replace("\r\n", "\n").removesuffix("\r")
        return [(stream, text)]

    def flush(self) -> list[tuple[int, str]]:
        """What is left at the stream's end: a line of each stream without a final newline."""
        out = [(s, p.decode("utf-8", "replace")) for s, p in sorted(self._partial.items())]
        self._partial.clear()
        return out


def timestamp_key(timestamp: str) -> str:
    """An RFC 3339 timestamp the engine wrote, made to sort as text: the engine trims trailing
    zeros of the nanoseconds, so they are padded back to nine digits. Runs for every block
    of every log read: a stamp with all nine digits is its own key."""
    if len(timestamp) == 30 and timestamp[19] == ".":
        return timestamp
    head, dot, rest = timestamp.partition(".")
    if not dot:
        return head.removesuffix("Z") + ".000000000Z"
    digits = rest.removesuffix("Z")
    return f"{head}.{digits:0<9}Z"


def split_timestamp(line: str) -> tuple[str, str]:
    """(timestamp, text) of a line the engine prefixed with its RFC 3339 timestamp."""
    stamp, _, text = line.partition(" ")
    return stamp, text
