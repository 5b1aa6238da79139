"""`docker events`: one subscription per engine per process, fanned out to every page.

The reader resumes with `since` after a lost connection, so no event is missed, and skips the
ones it has seen already (the engine repeats those at the resumed second). It can start from
a moment in the past too (when a page was rendered), and says from when it has seen every
event, so a page that joins late knows whether it missed any.
"""

import json
import time
from collections import deque

from containers_app.engine import Engine, EngineError, raw
from containers_app.streams.fanout import Registry, Upstream

RECENT = 200
RETRY_SECONDS = (0.2, 0.5, 1, 2, 5)

registry = Registry()


def event_key(event: dict) -> tuple:
    return (event.get("timeNano"), event.get("Type"), event.get("Action"), _actor_id(event))


def _actor_id(event: dict) -> str:
    return (event.get("Actor") or {}).get("ID", "") or event.get("id", "")


def summary(event: dict) -> dict:
    """What pages need of an event: type, action, the object's id and name, and its time."""
    actor = event.get("Actor") or {}
    attributes = actor.get("Attributes") or {}
    return {
        "type": event.get("Type", ""),
        "action": event.get("Action", ""),
        "id": _actor_id(event),
        "name": attributes.get("name", ""),
        "image": attributes.get("image", ""),
        "time": event.get("timeNano", 0),
        "attributes": attributes,
    }


class EventsUpstream(Upstream):
    def __init__(self, key, registry: Registry, *, engine: Engine, since_nano: int = 0) -> None:
        super().__init__(key, registry)
        self.engine = engine
        self.recent: deque[dict] = deque(maxlen=RECENT)
        self._seen: deque[tuple] = deque(maxlen=1000)
        # Every event from this time on (Unix nanoseconds) is read or being read: asked for
        # from then, not just subscribed to, so the moment the engine takes to answer is too.
        self.covered_from = self._last_nano = since_nano or time.time_ns()
        self._stream: raw.RawStream | None = None

    def saw_everything_since(self, since_nano: int) -> bool:
        """Whether every event after `since_nano` was read (or is being read) and those
        already delivered are still in `recent`."""
        if since_nano < self.covered_from:
            return False
        return len(self.recent) < RECENT or self.recent[0]["time"] <= since_nano

    def interrupt(self) -> None:
        if self._stream is not None:
            self._stream.close()

    def run(self) -> None:
        failures = 0
        while not self.stopping.is_set():
            seconds, nanos = divmod(self._last_nano, 1_000_000_000)
            try:
                self._stream = raw.open_stream(
                    self.engine, "/events", {"since": f"{seconds}.{nanos:09d}"}
                )
            except EngineError as error:
                self.tell(state="reconnecting", notice=f"Engine unavailable ({error.reason})")
                self.stopping.wait(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
                failures += 1
                continue
            if failures:
                self.tell(state="live", notice="Reconnected to the engine.", resync=True)
            failures = 0
            self._read(self._stream)

    def _read(self, stream: raw.RawStream) -> None:
        buffer = b""
        try:
            while data := stream.read():
                buffer += data
                *lines, buffer = buffer.split(b"\n")
                events = [e for e in (self._parse(line) for line in lines) if e]
                if events and not self.hand(events):
                    return
        except OSError:
            pass
        finally:
            stream.close()

    def _parse(self, line: bytes) -> dict | None:
        if not line.strip():
            return None
        try:
            event = json.loads(line)
        except ValueError:
            return None
        key = event_key(event)
        if key in self._seen:
            return None
        self._seen.append(key)
        self._last_nano = max(self._last_nano, int(event.get("timeNano") or 0))
        return summary(event)

    def deliver(self, items: list) -> None:
        self.recent.extend(items)
        super().deliver(items)


def events_upstream(engine: Engine, *, since_nano: int = 0) -> EventsUpstream:
    """The engine's events upstream; a new one starts from `since_nano` (0: from now)."""
    key = (engine.name, "events")
    upstream = registry.get(
        key, lambda: EventsUpstream(key, registry, engine=engine, since_nano=since_nano)
    )
    return upstream  # type: ignore[return-value]
