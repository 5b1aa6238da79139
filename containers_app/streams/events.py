"""`docker events`: one subscription per engine per process, fanned out to every page.

The reader resumes with `since` after a lost connection, so no event is missed, and skips the
ones it has seen already (the engine repeats those at the resumed second). It can start from
a moment in the past too (when a page was rendered), and says from when it has seen every
event, so a page that joins late knows whether it missed any.

Each event says whose object it is about, so that pages send it only to those who may see
that object: a container's event carries the container's labels among its attributes; a
network's or a volume's does not, so the reader adds them (`labels`), from what it listed
when it started and inspected since, and for a container joining or leaving a network or
mounting a volume, that container's too (`container_labels`). None where they are unknown.
"""

import json
import time
from collections import deque

from containers_app.engine import Engine, EngineError, raw
from containers_app.engine import containers as engine_containers
from containers_app.engine import networks as engine_networks
from containers_app.engine import system as engine_system
from containers_app.engine import volumes as engine_volumes
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
        # The labels of the engine's containers, networks and volumes: (type, id) -> labels.
        self._labels: dict[tuple[str, str], dict[str, str]] = {}
        self._listed = False

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
            try:
                self._stream = engine_system.system_events(
                    engine=self.engine, since_nano=self._last_nano
                )
            except EngineError as error:
                self.tell(state="reconnecting", notice=f"Engine unavailable ({error.reason})")
                self.stopping.wait(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
                failures += 1
                continue
            if failures:
                self.tell(state="live", notice="Reconnected to the engine.", resync=True)
            failures = 0
            if not self._listed:
                self._list_labels()
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
        return self._owned(summary(event))

    def _list_labels(self) -> None:
        """Learns the labels of what the engine holds now; events keep them current."""
        try:
            containers = engine_containers.container_list(engine=self.engine, all=True)
            networks = engine_networks.network_list(engine=self.engine)
            volumes = engine_volumes.volume_list(engine=self.engine)
        except EngineError:
            return  # learnt one by one as events name them
        self._labels.update({("container", c.id): dict(c.labels) for c in containers})
        self._labels.update({("network", n.id): dict(n.labels) for n in networks})
        self._labels.update({("volume", v.name): dict(v.labels) for v in volumes})
        self._listed = True

    def _inspected(self, kind: str, object_id: str) -> dict[str, str] | None:
        try:
            if kind == "network":
                found = engine_networks.network_inspect(engine=self.engine, network_id=object_id)
            else:
                found = engine_volumes.volume_inspect(engine=self.engine, name=object_id)
        except Exception:  # the reader thread must outlive any one lookup
            return None  # gone already, or the engine is: nobody but superusers hear of it
        return dict(found.labels)

    def _owned(self, item: dict) -> dict:
        """`item` with the labels of the object it is about (see the module's note)."""
        kind, object_id, action = item["type"], item["id"], item["action"]
        if kind == "container":
            key = ("container", object_id)
            if action == "destroy":
                self._labels.pop(key, None)
            else:
                self._labels[key] = item["attributes"]
        elif kind in ("network", "volume"):
            key = (kind, object_id)
            labels = self._labels.get(key)
            # A prune's event names no object (its id is empty): nothing to look up.
            if labels is None and action != "destroy" and object_id:
                labels = self._inspected(kind, object_id)
                if labels is not None:
                    self._labels[key] = labels
            if action == "destroy":
                self._labels.pop(key, None)
            item["labels"] = labels
            container = item["attributes"].get("container")
            if container:
                item["container_labels"] = self._labels.get(("container", container))
        return item

    def deliver(self, items: list) -> None:
        self.recent.extend(items)
        super().deliver(items)


def events_upstream(engine: Engine, *, since_nano: int = 0) -> EventsUpstream:
    """The engine's events upstream; a new one starts from `since_nano` (0: from now)."""
    key = (engine, "events")
    upstream = registry.get(
        key, lambda: EventsUpstream(key, registry, engine=engine, since_nano=since_nano)
    )
    return upstream  # type: ignore[return-value]
