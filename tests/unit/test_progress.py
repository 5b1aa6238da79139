"""A job's progress read from the engine's messages."""

import socket

import pytest

from containers_app.engine.raw import Messages, RawStream
from containers_app.streams.progress import OUTPUT_LINES, Progress, StreamError

A, B, C = "aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc"


def layer(layer_id: str, status: str, current: int = 0, total: int = 0) -> dict:
    detail = {"current": current, "total": total} if total else {}
    return {"id": layer_id, "status": status, "progressDetail": detail}


def test_the_overall_bar_never_goes_back_when_a_large_layer_reveals_its_size():
    progress = Progress()
    seen = []
    messages = [
        {"id": "1", "status": "Pulling from team/app"},
        layer(A, "Pulling fs layer"),
        layer(B, "Pulling fs layer"),
        layer(A, "Downloading", 90, 100),
        layer(A, "Pull complete"),
        # B now says it is a thousand times larger than A: by size, the pull is barely begun.
        layer(B, "Downloading", 1000, 100_000),
        layer(B, "Downloading", 50_000, 100_000),
        layer(B, "Download complete"),
        layer(B, "Extracting", 100_000, 100_000),
        layer(B, "Pull complete"),
    ]
    for message in messages:
        progress.feed(message)
        seen.append(progress.percent)
    assert seen == sorted(seen), seen
    assert seen[4] == 50.0  # one of two layers finished, before any size was known
    assert seen[-1] == 100.0


def test_layers_are_weighed_by_size_once_every_layer_has_told_it():
    progress = Progress()
    progress.feed(layer(A, "Downloading", 0, 100))
    progress.feed(layer(B, "Downloading", 0, 900))
    progress.feed(layer(B, "Downloading", 900, 900))  # the large one downloaded: 70 % of it
    assert progress.percent == pytest.approx(100 * 0.7 * 900 / 1000, abs=0.1)


def test_a_layer_restarting_its_download_does_not_move_the_bar_back():
    progress = Progress()
    progress.feed(layer(A, "Downloading", 80, 100))
    before = progress.percent
    progress.feed(layer(A, "Downloading", 10, 100))
    assert progress.percent == before
    assert progress.layers[A].status == "Downloading" and progress.layers[A].current == 10


def test_the_digest_and_the_output_lines_are_kept():
    progress = Progress()
    progress.feed({"status": "Digest: sha256:" + "0" * 64})
    progress.feed({"status": "Status: Downloaded newer image for x:1"})
    progress.feed({"stream": "Step 1/2 : FROM x"})
    progress.feed({"stream": ":1\n ---> abc\n"})
    assert progress.digest == "sha256:" + "0" * 64
    assert list(progress.lines)[-3:] == [
        "Status: Downloaded newer image for x:1",
        "Step 1/2 : FROM x:1",
        " ---> abc",
    ]


def test_an_error_message_fails_the_stream_whatever_came_before():
    progress = Progress()
    progress.feed(layer(A, "Downloading", 10, 100))
    with pytest.raises(StreamError, match="no space left on device"):
        progress.feed(
            {
                "errorDetail": {"message": "write /var/lib/docker/x: no space left on device"},
                "error": "write /var/lib/docker/x: no space left on device",
            }
        )
    assert "no space left on device" in progress.lines[-1]


def test_a_push_result_gives_the_digest():
    progress = Progress()
    progress.feed(layer(A, "Pushing", 50, 100))
    progress.feed(layer(A, "Pushed"))
    progress.feed({"progressDetail": {}, "aux": {"Tag": "1", "Digest": "sha256:" + "1" * 64}})
    assert progress.digest == "sha256:" + "1" * 64
    assert progress.percent == 100.0


def test_a_viewer_is_sent_only_what_changed_since_it_last_looked():
    progress = Progress()
    progress.feed(layer(A, "Downloading", 1, 100))
    progress.feed(layer(B, "Waiting"))
    progress.write("one\n")
    first = progress.since(-1, 0)
    assert set(first["layers"]) == {A, B} and first["output"] == ["one"]
    progress.feed(layer(B, "Downloading", 5, 10))
    progress.write("two\n")
    second = progress.since(first["version"], first["line"])
    assert set(second["layers"]) == {B}
    assert second["output"] == ["two"]
    assert progress.since(second["version"], second["line"]).keys() == {
        "version",
        "line",
        "percent",
    }


def test_lines_that_fell_out_of_the_window_are_counted_as_skipped():
    progress = Progress()
    for number in range(OUTPUT_LINES + 5):
        progress.write(f"line {number}\n")
    update = progress.since(-1, 0)
    assert update["skipped"] == 5
    assert update["output"][0] == "line 5" and len(update["output"]) == OUTPUT_LINES


@pytest.fixture
def pipe():
    ours, theirs = socket.socketpair()
    yield ours, theirs
    ours.close()
    theirs.close()


def test_messages_are_decoded_across_block_boundaries(pipe):
    ours, theirs = pipe
    theirs.sendall(b'{"status":"Pulling fs layer","id":"aaaaaaaaaaaa"}\r\n{"stre')
    theirs.sendall(b'am":"hello\\n"}\r\nnot json\r\n')
    theirs.sendall(b'{"aux":{"ID":"sha256:1"}}')
    theirs.shutdown(socket.SHUT_WR)
    messages = list(Messages(RawStream(sock=ours, first=b"")))
    assert messages == [
        {"status": "Pulling fs layer", "id": "aaaaaaaaaaaa"},
        {"stream": "hello\n"},
        {"stream": "not json\n"},
        {"aux": {"ID": "sha256:1"}},
    ]


def test_output_without_newlines_is_cut_into_lines_of_bounded_length():
    progress = Progress()
    for _ in range(256):
        progress.write("x" * 4096 + "\r")  # a progress bar redrawn in place, 1 MiB in all

    assert progress.lines_total >= 15
    assert max(map(len, progress.lines)) <= 64 * 1024 + 4096
    progress.write("done\n")
    assert progress.lines[-1].endswith("done")
