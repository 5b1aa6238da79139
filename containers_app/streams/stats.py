"""`docker stats`: one stats stream per running container, shared by all its viewers, each
sample reduced to the figures the CLI shows."""

import json
import time
from collections import deque
from collections.abc import Callable, Mapping

from containers_app.engine import Engine, EngineError, NotFound, raw
from containers_app.engine import containers as engine_containers
from containers_app.streams.fanout import Registry, Upstream

HISTORY = 300  # samples kept for charts: five minutes at one a second

registry = Registry()


def reduce_sample(sample: dict, container_id: str) -> dict | None:
    """CPU %, memory, network and block I/O and PIDs of one sample, computed as the docker CLI
    does; None for a sample without the previous reading CPU % needs."""
    cpu, pre = sample.get("cpu_stats") or {}, sample.get("precpu_stats") or {}
    cpu_delta = (cpu.get("cpu_usage") or {}).get("total_usage", 0) - (
        pre.get("cpu_usage") or {}
    ).get("total_usage", 0)
    system_delta = (cpu.get("system_cpu_usage") or 0) - (pre.get("system_cpu_usage") or 0)
    cpus = (
        cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or []) or 1
    )
    if not pre.get("system_cpu_usage"):
        return None
    cpu_percent = (
        cpu_delta / system_delta * cpus * 100 if system_delta > 0 and cpu_delta > 0 else 0.0
    )
    memory = sample.get("memory_stats") or {}
    details = memory.get("stats") or {}
    # As the CLI: page cache does not count as use (cgroup v1 and v2 name it differently),
    # unless the figure is not below the usage.
    usage = memory.get("usage") or 0
    v1_cache, v2_cache = details.get("total_inactive_file"), details.get("inactive_file") or 0
    if v1_cache is not None and v1_cache < usage:
        usage -= v1_cache
    elif v2_cache < usage:
        usage -= v2_cache
    limit = memory.get("limit") or 0
    rx = tx = 0
    for network in (sample.get("networks") or {}).values():
        rx += network.get("rx_bytes", 0)
        tx += network.get("tx_bytes", 0)
    read = write = 0
    for entry in (sample.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []:
        op = (entry.get("op") or "").lower()
        if op == "read":
            read += entry.get("value", 0)
        elif op == "write":
            write += entry.get("value", 0)
    return {
        "kind": "stats",
        "id": container_id,
        "name": (sample.get("name") or "").lstrip("/"),
        "time": time.time(),
        "cpu": round(cpu_percent, 2),
        "mem": usage,
        "limit": limit,
        "mem_percent": round(usage / limit * 100, 2) if limit else 0.0,
        "net_rx": rx,
        "net_tx": tx,
        "blk_read": read,
        "blk_write": write,
        "pids": (sample.get("pids_stats") or {}).get("current", 0),
    }


class StatsUpstream(Upstream):
    """Reads one container's stats stream until it stops."""

    def __init__(self, key, registry: Registry, *, engine: Engine, container_id: str) -> None:
        super().__init__(key, registry)
        self.engine = engine
        self.container_id = container_id
        self.history: deque[dict] = deque(maxlen=HISTORY)
        self._stream: raw.RawStream | None = None

    def interrupt(self) -> None:
        if self._stream is not None:
            self._stream.close()

    def run(self) -> None:
        try:
            self._stream = engine_containers.container_stats_stream(
                engine=self.engine, container_id=self.container_id
            )
        except NotFound:
            self.tell(kind="gone", id=self.container_id)
            return
        except EngineError as error:
            self.tell(kind="gone", id=self.container_id, notice=error.reason)
            return
        buffer = b""
        try:
            while data := self._stream.read():
                buffer += data
                *lines, buffer = buffer.split(b"\n")
                samples = []
                for line in lines:
                    try:
                        reduced = reduce_sample(json.loads(line), self.container_id)
                    except ValueError:
                        continue
                    if reduced:
                        samples.append(reduced)
                if samples and not self.hand(samples):
                    return
        except OSError:
            pass
        finally:
            self._stream.close()
        self.tell(kind="gone", id=self.container_id)

    def deliver(self, items: list) -> None:
        self.history.extend(items)
        super().deliver(items)


def container_stats(engine: Engine, container_id: str) -> StatsUpstream:
    key = (engine, "stats", container_id)
    upstream = registry.get(
        key, lambda: StatsUpstream(key, registry, engine=engine, container_id=container_id)
    )
    return upstream  # type: ignore[return-value]


class StatsWatch:
    """A viewer's stats of several containers: all running ones (following starts and stops
    through the engine's events) or a chosen one. `shows(labels)`: whether the viewer may see
    a container with those labels; containers it may not are never followed nor mentioned."""

    def __init__(self, engine: Engine, viewer, *, shows: Callable[[Mapping[str, str]], bool]):
        self.engine = engine
        self.viewer = viewer
        self.shows = shows
        self.upstreams: dict[str, StatsUpstream] = {}
        self.events = None

    def watch(self, container_id: str, *, with_history: bool = False) -> None:
        if container_id in self.upstreams:
            return
        upstream = container_stats(self.engine, container_id)
        if with_history and upstream.history:
            self.viewer.offer(list(upstream.history))
        upstream.subscribe(self.viewer)
        self.upstreams[container_id] = upstream

    def unwatch(self, container_id: str) -> None:
        upstream = self.upstreams.pop(container_id, None)
        if upstream is not None:
            upstream.unsubscribe(self.viewer)

    def follow_running(self) -> None:
        """Adds containers as they start and drops them as they stop."""
        from containers_app.streams.events import events_upstream

        self.events = events_upstream(self.engine)
        self.events.subscribe(self)  # type: ignore[arg-type]

    # The events upstream delivers here.
    def offer(self, events: list[dict]) -> None:
        for event in events:
            # A container event carries the container's labels among its attributes.
            if event["type"] != "container" or not self.shows(event["attributes"]):
                continue
            if event["action"] in ("start", "unpause", "restart"):
                self.watch(event["id"])
            elif event["action"] in ("die", "destroy", "pause"):
                self.unwatch(event["id"])
                self.viewer.notice(kind="gone", id=event["id"])

    def notice(self, **message) -> None:
        pass

    def close(self) -> None:
        for container_id in list(self.upstreams):
            self.unwatch(container_id)
        if self.events is not None:
            self.events.unsubscribe(self)  # type: ignore[arg-type]
