"""A job's progress read from the engine's messages: each layer's line, an overall percentage
that never goes backwards, the output text, and the error a stream ends with.

Pull, push, build and load all answer with JSON messages, one per line: `{"id", "status",
"progressDetail"}` for a layer, `{"stream"}` for output, `{"aux"}` for a result, and
`{"error", "errorDetail"}` for a failure, which may come after an HTTP 200 (the engine has
sent its headers long before a disk fills up).
"""

import re
from collections import deque
from dataclasses import dataclass

OUTPUT_LINES = 2000
# The output kept (the newest lines), counted in characters (a byte each, for the ASCII that
# builds print): a job's page and socket send no more than this.
OUTPUT_BYTES = 1024 * 1024
PARTIAL_BYTES = 64 * 1024
# A longer line is cut, saying so: one line must not take the whole of OUTPUT_BYTES.
LINE_BYTES = 16 * 1024
LAYER_ID = re.compile(r"^[0-9a-f]{12}$")
# How far a pulled layer is once downloaded: the rest is extracting it.
DOWNLOADED = 0.7
FINISHED = (
    "pull complete",
    "already exists",
    "pushed",
    "layer already exists",
    "mounted from",
    "loading layer done",
)
DOWNLOADED_STATES = ("verifying checksum", "download complete")


@dataclass
class Layer:
    status: str = ""
    current: int = 0
    total: int = 0
    fraction: float = 0.0
    version: int = 0

    @property
    def done(self) -> bool:
        return self.fraction >= 1.0

    def as_list(self) -> list:
        return [self.status, self.current, self.total]


class StreamError(Exception):
    """The engine's stream said it failed, whatever its HTTP status was."""


class Progress:
    """What one job's viewers draw. Changes carry a version, so each viewer can be sent only
    what changed since it last looked (see `since`)."""

    def __init__(self, output_bytes: int = OUTPUT_BYTES) -> None:
        self.layers: dict[str, Layer] = {}
        self.lines: deque[str] = deque()
        self.lines_total = 0  # lines ever written; the deque keeps the newest
        self.output_bytes = output_bytes
        self._kept_bytes = 0
        self.percent = 0.0
        self.version = 0
        self.digest = ""
        self.image_id = ""
        self._partial = ""

    # Reading the engine.
    def feed(self, message: dict) -> None:
        """Takes one message; raises StreamError for an error message."""
        error = (message.get("errorDetail") or {}).get("message") or message.get("error")
        if error:
            self.write(f"{error}\n")
            raise StreamError(str(error))
        aux = message.get("aux")
        if isinstance(aux, dict):
            self.image_id = aux.get("ID", self.image_id)
            self.digest = aux.get("Digest", self.digest)
        status, layer_id = message.get("status"), str(message.get("id") or "")
        if status and LAYER_ID.match(layer_id):
            self._layer(layer_id, str(status), message.get("progressDetail") or {})
        elif status:
            status = str(status)
            if status.startswith("Digest: "):
                self.digest = status.removeprefix("Digest: ").strip()
            self.write(f"{layer_id}: {status}\n" if layer_id else f"{status}\n")
        if isinstance(message.get("stream"), str):
            self.write(message["stream"])

    def write(self, text: str) -> None:
        """Output text, cut into lines (a build step may come in pieces). Only the new text
        is searched for line ends, and an unended line longer than PARTIAL_BYTES is kept as a
        line of its own: output without newlines (a `\r` progress bar) costs what it brings,
        under the lock the page's socket also takes."""
        if "\n" not in text and len(self._partial) + len(text) < PARTIAL_BYTES:
            self._partial += text
            return
        *lines, rest = text.split("\n")
        lines = [self._partial + lines[0], *lines[1:]] if lines else []
        self._partial = rest if lines else self._partial + rest
        if len(self._partial) >= PARTIAL_BYTES:
            lines.append(self._partial)
            self._partial = ""
        for line in lines:
            self._keep(line.rstrip("\r"))
        if lines:
            self.version += 1

    def _keep(self, line: str) -> None:
        """Appends a line, cut at LINE_BYTES, and forgets the oldest beyond OUTPUT_LINES or
        output_bytes (viewers are told how many they missed: see `since`)."""
        if len(line) > LINE_BYTES:
            line = f"{line[:LINE_BYTES]}… ({len(line) - LINE_BYTES:,} more characters cut)"
        self.lines.append(line)
        self.lines_total += 1
        self._kept_bytes += len(line) + 1
        while len(self.lines) > OUTPUT_LINES or (
            self._kept_bytes > self.output_bytes and len(self.lines) > 1
        ):
            self._kept_bytes -= len(self.lines.popleft()) + 1

    def finish(self) -> None:
        """The stream ended well: a last unterminated line is kept, and the bar is full."""
        if self._partial:
            self.write("\n")
        self.percent = 100.0
        self.version += 1

    def _layer(self, layer_id: str, status: str, detail: dict) -> None:
        layer = self.layers.setdefault(layer_id, Layer())
        current, total = int(detail.get("current") or 0), int(detail.get("total") or 0)
        lowered = status.lower()
        if lowered.startswith(FINISHED):
            fraction = 1.0
            current = total or layer.total  # the engine's last word has no byte count
        elif lowered.startswith("downloading") and total:
            fraction = DOWNLOADED * min(current / total, 1.0)
        elif lowered.startswith(DOWNLOADED_STATES):
            fraction = DOWNLOADED
        elif lowered.startswith("extracting") and total:
            fraction = DOWNLOADED + (1 - DOWNLOADED) * min(current / total, 1.0)
        elif (lowered.startswith(("pushing", "loading layer"))) and total:
            fraction = 0.99 * min(current / total, 1.0)  # done only when the engine says so
        else:
            fraction = layer.fraction
        layer.status, layer.current = status, current
        layer.total = total or layer.total
        # A layer does not go back either ("Downloading" after "Download complete" happens
        # when the engine retries).
        layer.fraction = max(layer.fraction, fraction)
        self.version += 1
        layer.version = self.version
        self.percent = max(self.percent, self._overall())

    def _overall(self) -> float:
        """Finished layers counted, each layer weighed by its size only once every layer
        still to come has told its size: a layer revealing a large size later cannot make
        the bar jump back, and `percent` keeps the highest value reached anyway."""
        layers = list(self.layers.values())
        if not layers:
            return 0.0
        sized = [layer.total for layer in layers if layer.total]
        if all(layer.total or layer.done for layer in layers) and sized:
            mean = sum(sized) / len(sized)
            weights = [layer.total or mean for layer in layers]
        else:
            weights = [1.0] * len(layers)
        done = sum(w * layer.fraction for w, layer in zip(weights, layers, strict=True))
        return round(100.0 * done / sum(weights), 1)

    # What viewers are sent.
    def since(self, version: int, line: int) -> dict:
        """What changed after `version`, and the output lines from number `line` on (lines
        that fell out of the kept window are counted as skipped)."""
        first = self.lines_total - len(self.lines)
        start = max(line, first)
        changed = {
            layer_id: layer.as_list()
            for layer_id, layer in self.layers.items()
            if layer.version > version
        }
        update: dict = {"version": self.version, "line": self.lines_total}
        update["percent"] = self.percent
        if changed:
            update["layers"] = changed
        if start < self.lines_total:
            update["output"] = list(self.lines)[start - first :]
        if start > line:
            update["skipped"] = start - line
        return update

    def saved(self) -> dict:
        """What the database keeps of it, for pages drawn after the job's process is gone."""
        return {
            "skipped": self.lines_total - len(self.lines),
            "percent": self.percent,
            "layers": {k: v.as_list() for k, v in self.layers.items()},
            "digest": self.digest,
        }
