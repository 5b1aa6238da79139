"""Splitting the engine's log bytes into lines, ordering timestamps and resuming a log."""

import calendar
import itertools
import struct

import pytest

from containers_app.streams.frames import (
    MAX_LINE,
    STDERR,
    STDOUT,
    LineSplitter,
    split_timestamp,
    timestamp_key,
)
from containers_app.streams.logs import Cursor, engine_since


def lines_of(blocks: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Blocks cut into (stream, line) pairs, as the browser cuts them."""
    return [(stream, line) for stream, block in blocks for line in block.split("\n")]


class Lines(LineSplitter):
    """The splitter, its blocks cut into lines."""

    def feed(self, data: bytes) -> list[tuple[int, str]]:
        return lines_of(super().feed(data))

    def flush(self) -> list[tuple[int, str]]:
        return lines_of(super().flush())


def frame(stream: int, payload: bytes) -> bytes:
    """One frame of a non-TTY (multiplexed) stream as the engine sends it."""
    return struct.pack(">BxxxL", stream, len(payload)) + payload


def split_everywhere(splitter_tty: bool, data: bytes, expected: list, *, cuts: int = 1):
    """Feeds `data` cut into pieces at every possible place (every pair of places when
    cuts=2) and checks the lines come out the same each time."""
    for points in itertools.combinations(range(1, len(data)), cuts):
        splitter = Lines(tty=splitter_tty)
        bounds = [0, *points, len(data)]
        out = []
        for start, end in itertools.pairwise(bounds):
            out += splitter.feed(data[start:end])
        out += splitter.flush()
        assert out == expected, f"cut at {points}"


# --- LineSplitter, non-TTY ----------------------------------------------------------------


MULTIPLEXED = (
    frame(STDOUT, "héllo 日本 🚀\n".encode())
    + frame(STDERR, b"an error\n")
    + frame(STDOUT, b"two\nlines\n")
)
MULTIPLEXED_LINES = [
    (STDOUT, "héllo 日本 🚀"),
    (STDERR, "an error"),
    (STDOUT, "two"),
    (STDOUT, "lines"),
]


def test_it_splits_multiplexed_frames_into_lines_of_stdout_and_stderr():
    assert Lines(tty=False).feed(MULTIPLEXED) == MULTIPLEXED_LINES


def test_multiplexed_frames_cut_at_any_byte_give_the_same_lines():
    # Every cut lands once inside a header, inside a payload, inside a multi-byte character.
    split_everywhere(False, MULTIPLEXED, MULTIPLEXED_LINES)


def test_multiplexed_frames_cut_at_any_two_bytes_give_the_same_lines():
    split_everywhere(False, MULTIPLEXED, MULTIPLEXED_LINES, cuts=2)


def test_multiplexed_frames_fed_one_byte_at_a_time_give_the_same_lines():
    splitter = Lines(tty=False)
    out = []
    for byte in MULTIPLEXED:
        out += splitter.feed(bytes([byte]))
    assert out == MULTIPLEXED_LINES
    assert splitter.flush() == []


def test_a_header_alone_gives_nothing_until_its_payload_comes():
    splitter = Lines(tty=False)
    data = frame(STDOUT, b"whole\n")
    assert splitter.feed(data[:8]) == []
    assert splitter.feed(data[8:11]) == []
    assert splitter.feed(data[11:]) == [(STDOUT, "whole")]


def test_a_character_split_between_two_frames_of_one_stream_stays_whole():
    rocket = "🚀".encode()
    data = frame(STDOUT, b"go " + rocket[:2]) + frame(STDOUT, rocket[2:] + b" now\n")
    assert Lines(tty=False).feed(data) == [(STDOUT, "go 🚀 now")]
    split_everywhere(False, data, [(STDOUT, "go 🚀 now")])


def test_a_line_of_stdout_is_not_joined_with_stderr_written_in_between():
    data = frame(STDOUT, b"out part ") + frame(STDERR, b"err line\n") + frame(STDOUT, b"one\n")
    assert Lines(tty=False).feed(data) == [(STDERR, "err line"), (STDOUT, "out part one")]


def test_crlf_line_ends_lose_their_carriage_return():
    data = frame(STDOUT, b"windows\r\nstyle\r\n")
    assert Lines(tty=False).feed(data) == [(STDOUT, "windows"), (STDOUT, "style")]


def test_a_last_line_without_newline_comes_out_on_flush():
    splitter = Lines(tty=False)
    assert splitter.feed(frame(STDOUT, b"done\nno newline")) == [(STDOUT, "done")]
    assert splitter.flush() == [(STDOUT, "no newline")]
    assert splitter.flush() == []


def test_flush_gives_each_streams_unfinished_line():
    splitter = Lines(tty=False)
    assert splitter.feed(frame(STDERR, b"err") + frame(STDOUT, b"out")) == []
    assert splitter.flush() == [(STDOUT, "out"), (STDERR, "err")]


def test_bytes_that_are_not_utf8_are_replaced_not_fatal():
    assert Lines(tty=False).feed(frame(STDOUT, b"bad \xff byte\n")) == [(STDOUT, "bad \ufffd byte")]


def test_an_over_long_line_is_cut_so_memory_stays_bounded():
    splitter = Lines(tty=False)
    out = []
    block = b"x" * 40_000
    for _ in range(10):  # 400 kB with no newline
        out += splitter.feed(frame(STDOUT, block))
        assert sum(len(part) for part in splitter._partial.values()) <= MAX_LINE
    out += splitter.feed(frame(STDOUT, b"\n"))
    out += splitter.flush()
    assert len(out) > 1
    assert all(stream == STDOUT for stream, _ in out)
    assert "".join(text for _, text in out) == "x" * 400_000


def test_a_run_of_frames_of_one_stream_comes_out_as_one_block():
    data = b"".join(frame(STDOUT, f"line {n}\n".encode()) for n in range(500))
    data += frame(STDERR, b"oops\n") + frame(STDOUT, b"after\n")

    blocks = LineSplitter(tty=False).feed(data)

    assert blocks == [
        (STDOUT, "\n".join(f"line {n}" for n in range(500))),
        (STDERR, "oops"),
        (STDOUT, "after"),
    ]


def test_an_empty_line_is_a_block_of_one_line():
    assert LineSplitter(tty=False).feed(frame(STDOUT, b"\n")) == [(STDOUT, "")]
    assert lines_of(LineSplitter(tty=True).feed(b"a\r\n\r\nb\n")) == [
        (STDOUT, "a"),
        (STDOUT, ""),
        (STDOUT, "b"),
    ]


# --- LineSplitter, TTY --------------------------------------------------------------------


TTY_BYTES = "plain\r\nkey é 日本 🚀\r\n\x1b[31mred\x1b[0m\nlast".encode()
TTY_LINES = [(STDOUT, "plain"), (STDOUT, "key é 日本 🚀"), (STDOUT, "\x1b[31mred\x1b[0m")]


def test_a_tty_stream_is_raw_bytes_all_on_stdout():
    splitter = Lines(tty=True)
    assert splitter.feed(TTY_BYTES) == TTY_LINES
    assert splitter.flush() == [(STDOUT, "last")]


def test_a_tty_stream_cut_at_any_byte_gives_the_same_lines():
    split_everywhere(True, TTY_BYTES, [*TTY_LINES, (STDOUT, "last")])


def test_a_tty_stream_does_not_read_its_bytes_as_frame_headers():
    # \x02 first would be stderr's header on a multiplexed stream.
    data = b"\x02\x00\x00\x00\x00\x00\x00\x03abc\n"
    assert Lines(tty=True).feed(data) == [(STDOUT, "\x02\x00\x00\x00\x00\x00\x00\x03abc")]


# --- timestamps ---------------------------------------------------------------------------


def test_timestamp_key_pads_trimmed_nanoseconds_to_nine_digits():
    assert timestamp_key("2026-01-02T13:23:37.5Z") == "2026-01-02T13:23:37.500000000Z"
    assert timestamp_key("2026-01-02T13:23:37.123456789Z") == "2026-01-02T13:23:37.123456789Z"
    assert timestamp_key("2026-01-02T13:23:37Z") == "2026-01-02T13:23:37.000000000Z"


def test_timestamp_keys_sort_as_the_times_they_are():
    # As the engine writes them: trailing zeros of the nanoseconds trimmed.
    stamps = [
        "2026-01-02T13:23:37Z",
        "2026-01-02T13:23:37.000000001Z",
        "2026-01-02T13:23:37.1Z",
        "2026-01-02T13:23:37.12Z",
        "2026-01-02T13:23:37.120000001Z",
        "2026-01-02T13:23:37.9Z",
        "2026-01-02T13:23:38Z",
    ]
    # As plain text "…37.1Z" sorts after "…37.12Z" ("Z" > "2"): the reason for the key.
    assert sorted(stamps) != stamps
    assert sorted(reversed(stamps), key=timestamp_key) == stamps


def test_split_timestamp_parts_the_engines_prefix_from_the_text():
    assert split_timestamp("2026-01-02T13:23:37.5Z hello world") == (
        "2026-01-02T13:23:37.5Z",
        "hello world",
    )
    assert split_timestamp("2026-01-02T13:23:37.5Z ") == ("2026-01-02T13:23:37.5Z", "")


def test_engine_since_is_unix_seconds_and_all_nine_digits_of_nanoseconds():
    seconds = calendar.timegm((2026, 1, 2, 13, 23, 37))
    assert engine_since("2026-01-02T13:23:37.12Z") == f"{seconds}.120000000"
    assert engine_since("2026-01-02T13:23:37.123456789Z") == f"{seconds}.123456789"
    assert engine_since("2026-01-02T13:23:37Z") == f"{seconds}.000000000"
    # The ring keeps keys, which are already padded.
    assert engine_since("2026-01-02T13:23:37.000000001Z") == f"{seconds}.000000001"


# --- Cursor -------------------------------------------------------------------------------


def stamped(second: int, nanos: int, text: str, stream: int = STDOUT) -> tuple[int, str]:
    stamp = f"2026-01-02T13:23:{second:02d}.{nanos:09d}".rstrip("0").rstrip(".") + "Z"
    return stream, f"{stamp} {text}"


def taken(cursor: Cursor, blocks: list[tuple[int, str]]) -> list[tuple[int, str, str]]:
    """What the cursor lets through, as (stream, timestamp, text) lines."""
    return [(stream, *split_timestamp(line)) for stream, line in lines_of(cursor.take(blocks))]


def block(*lines: tuple[int, str]) -> tuple[int, str]:
    """Lines of one stream in one block, as the splitter gives them."""
    return lines[0][0], "\n".join(text for _, text in lines)


def test_a_fresh_cursor_takes_every_line_and_remembers_each_stream_s_newest_time():
    cursor = Cursor()
    lines = taken(
        cursor, [block(stamped(1, 5, "a"), stamped(2, 0, "b")), stamped(1, 9, "c", STDERR)]
    )
    assert [text for _, _, text in lines] == ["a", "b", "c"]
    assert lines[2] == (STDERR, "2026-01-02T13:23:01.000000009Z", "c")
    assert cursor.last == {
        STDOUT: "2026-01-02T13:23:02.000000000Z",
        STDERR: "2026-01-02T13:23:01.000000009Z",
    }
    # A resumed read starts at the stream furthest behind.
    assert cursor.since == "2026-01-02T13:23:01.000000009Z"


def test_a_cursor_passes_blocks_through_whole():
    lines = block(stamped(1, 0, "a"), stamped(1, 1, "b"), stamped(1, 2, "c"))

    assert Cursor().take([lines]) == [lines]


def test_a_resumed_cursor_skips_each_stream_s_lines_up_to_where_it_was():
    cursor = Cursor()
    cursor.take(
        [block(stamped(1, 0, "a"), stamped(2, 500_000_000, "b")), stamped(1, 7, "e", STDERR)]
    )
    cursor.resume()
    assert cursor.boundary == {
        STDOUT: "2026-01-02T13:23:02.500000000Z",
        STDERR: "2026-01-02T13:23:01.000000007Z",
    }
    # A resumed read starts a little before: what was seen is skipped, the line at the very
    # boundary included, also inside a block; stderr is stamped apart, so a later stdout line
    # says nothing of stderr's.
    again = taken(
        cursor,
        [
            block(stamped(1, 0, "a"), stamped(2, 500_000_000, "b"), stamped(3, 0, "c")),
            stamped(1, 7, "e", STDERR),
            stamped(2, 7, "d", STDERR),
            stamped(2, 600_000_000, "f"),
        ],
    )
    assert [text for _, _, text in again] == ["c", "d", "f"]
    assert cursor.boundary == {}
    assert cursor.last[STDOUT] == "2026-01-02T13:23:03.000000000Z"


def test_once_a_stream_is_past_its_boundary_it_is_no_longer_filtered():
    cursor = Cursor(boundary={STDOUT: "2026-01-02T13:23:05.000000000Z"})
    assert cursor.take([stamped(4, 0, "old")]) == []
    assert cursor.take([stamped(5, 0, "same")]) == []
    assert [t for _, _, t in taken(cursor, [stamped(5, 1, "new")])] == ["new"]
    assert [t for _, _, t in taken(cursor, [stamped(4, 0, "older but new")])] == ["older but new"]
    # A stream without a boundary was never filtered.
    assert [t for _, _, t in taken(cursor, [stamped(1, 0, "err", STDERR)])] == ["err"]


@pytest.mark.parametrize("text", ["", "spaces  inside ", "日本 🚀"])
def test_a_cursor_keeps_the_text_after_the_timestamp_as_it_was(text):
    (line,) = taken(Cursor(), [(STDOUT, f"2026-01-02T13:23:37.5Z {text}")])
    assert line == (STDOUT, "2026-01-02T13:23:37.5Z", text)


def test_the_rest_of_a_cut_line_gets_the_stamp_of_its_start():
    cursor = Cursor()
    cursor.take([stamped(1, 5, "start of a long line"), stamped(9, 0, "meanwhile", STDERR)])

    (line,) = taken(cursor, [(STDOUT, "rest of it")])

    assert line == (STDOUT, "2026-01-02T13:23:01.000000005Z", "rest of it")


def test_a_line_that_looks_nearly_like_a_stamp_is_not_taken_for_one():
    cursor = Cursor()
    cursor.take([stamped(1, 0, "x")])

    (line,) = taken(cursor, [(STDOUT, "2026-01-02 13:23:01Z not a stamp")])

    assert line[1] == "2026-01-02T13:23:01Z"
