"""The live feed of an open wall screen: its tiles kept current from the engine's shared
events upstream and the shared stats upstreams, and nothing of a container it may not see."""

import asyncio
import logging
from collections.abc import Iterable

from django.utils import timezone

from containers_app import access
from containers_app.engine import Engine, EngineError
from containers_app.engine import containers as engine_containers
from containers_app.streams.events import events_upstream
from containers_app.streams.executor import engine_call
from containers_app.streams.fanout import Viewer
from containers_app.streams.stats import StatsUpstream, container_stats
from containers_app.tiles import SPARK_POINTS, may_see, tile_of, visible_states

log = logging.getLogger(__name__)


# Container events that change what a tile shows (a health check's result is
# "health_status: healthy"; exec_* and the like change nothing).
TILE_ACTIONS = {
    "create", "start", "restart", "stop", "die", "kill", "pause", "unpause", "destroy",
    "rename", "update", "oom", "health_status",
}  # fmt: skip
BATCH_SECONDS = 0.1
# The engine announces some changes (die, pause) a moment before inspect shows them: those
# containers are looked at once more after this long.
SETTLE_SECONDS = 1.0
STATS_FIELDS = ("id", "cpu", "mem", "limit")


class _StatsToTiles:
    """Hands a feed's viewer what a tile draws of each stats sample, nothing more."""

    def __init__(self, viewer: Viewer, engine: str) -> None:
        self.viewer = viewer
        self.engine = engine

    def offer(self, samples: list[dict]) -> None:
        self.viewer.offer(
            [
                {"kind": "stats", "engine": self.engine, **{k: s[k] for k in STATS_FIELDS}}
                for s in samples
            ]
        )

    def notice(self, **message) -> None:
        # A stream that ends (its container stopped) shows in the container's tile anyway.
        pass


class ScreenFeed:
    """Keeps one open screen's tiles on one engine current, from the engine's shared events
    upstream and the shared stats upstreams of the running containers it shows: never
    anything about a container the screen may not see. A screen of several engines has a
    feed for each, on one viewer.

    What goes to `viewer`, each naming the engine by its slug: {"kind": "tile", "engine", ...}
    for a new or changed tile, {"kind": "remove", "engine", "id"} for one gone (or no longer
    visible), {"kind": "board", "engine", "ids"} after a full reload, {"kind": "stats",
    "engine", "id", "cpu", "mem", "limit"} samples, and notices {"kind": "engine", "engine",
    "state": "down" | "up", "notice"} when the engine goes away and comes back."""

    def __init__(self, engine: Engine, actor: access.Actor, viewer: Viewer) -> None:
        self.engine = engine
        self.actor = actor
        self.viewer = viewer
        self.shown: dict[str, dict] = {}
        self.stats: dict[str, StatsUpstream] = {}
        self._to_tiles = _StatsToTiles(viewer, engine.slug)
        self._pending: set[str] = set()
        self._flush: asyncio.TimerHandle | None = None
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task] = set()
        self._events = None
        self.closed = False
        self._reload_pending = False

    def start(self) -> None:
        """Subscribes to the engine's events, then sends the whole board: a change made
        while the board is read comes as an event and is looked at after it."""
        self._events = events_upstream(self.engine)
        self._events.subscribe(self)  # type: ignore[arg-type]
        self._spawn(self.reload())

    def close(self) -> None:
        self.closed = True
        if self._flush:
            self._flush.cancel()
        for task in list(self._tasks):
            task.cancel()
        if self._events is not None:
            self._events.unsubscribe(self)  # type: ignore[arg-type]
            self._events = None
        for container_id in list(self.stats):
            self._unwatch(container_id)

    def clear(self) -> None:
        """Closes the feed and takes its tiles off the wall (the screen no longer shows
        this engine)."""
        self.close()
        self.viewer.offer([{"kind": "board", "engine": self.engine.slug, "ids": []}])

    def _engine_notice(self, state: str, notice: str) -> None:
        self.viewer.notice(kind="engine", engine=self.engine.slug, state=state, notice=notice)

    def reload_soon(self) -> None:
        """Sends the whole board again (the page missed part of it). Asked again before it
        began, it is done once: a page cannot queue reloads of every container."""
        if not self.closed and not self._reload_pending:
            self._reload_pending = True
            self._spawn(self._pending_reload())

    async def _pending_reload(self) -> None:
        # Once its turn comes, a request asked after this one makes a reload of its own.
        async with self._lock:
            self._reload_pending = False
        await self.reload()

    def _spawn(self, work) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # The events upstream delivers here, on the event loop.
    def offer(self, events: list[dict]) -> None:
        for event in events:
            if event["type"] != "container":
                continue
            action, container_id = event["action"].partition(":")[0], event["id"]
            if action not in TILE_ACTIONS:
                continue
            if container_id in self.shown:
                self._pending.add(container_id)
            elif action != "destroy" and may_see(self.actor, event.get("attributes") or {}):
                # The event's attributes carry the container's labels: a container this
                # screen may not see is never inspected.
                self._pending.add(container_id)
        if self._pending and not self._flush and not self.closed:
            self._flush = asyncio.get_running_loop().call_later(
                BATCH_SECONDS, lambda: self._spawn(self._refresh())
            )

    def notice(self, **message) -> None:
        """The events stream lost the engine, or found it again: the screen says so, and
        reloads its board once the engine is back."""
        state = message.get("state")
        if state == "reconnecting":
            self._engine_notice("down", message.get("notice", ""))
        elif state == "live":
            self._engine_notice("up", message.get("notice", ""))
            if message.get("resync"):
                self.reload_soon()

    async def reload(self) -> None:
        """Sends every tile the screen shows, and the list of them (the page drops others)."""
        async with self._lock:
            try:
                states = await engine_call(visible_states, self.engine, self.actor)
            except EngineError as error:
                self._engine_notice("down", error.reason)
                return
            now = timezone.now().timestamp()
            tiles = [tile_of(state, self.engine.slug, now) for state in states]
            gone = set(self.shown) - {t["id"] for t in tiles}
            self.shown = {t["id"]: t for t in tiles}
            board = {"kind": "board", "engine": self.engine.slug, "ids": list(self.shown)}
            self.viewer.offer([*tiles, board])
            for container_id in gone:
                self._unwatch(container_id)
            for tile in tiles:
                self._follow_stats(tile)

    def rescope(self, actor: access.Actor) -> None:
        """The screen's rights changed (a compose project given to or taken from its team):
        what it shows is worked out again."""
        if actor.key() != self.actor.key():
            self.actor = actor
            self.reload_soon()

    async def _refresh(self, ids: Iterable[str] = (), *, settling: bool = False) -> None:
        if self.closed:
            return
        if not settling:
            self._flush = None
            ids, self._pending = sorted(self._pending), set()
        ids = list(ids)
        if not ids:
            return
        async with self._lock:
            try:
                states = await engine_call(
                    engine_containers.container_states, engine=self.engine, container_ids=ids
                )
            except EngineError as error:
                log.info("a screen could not look at changed containers: %s", error.reason)
                return
            found = {s.id: s for s in states if may_see(self.actor, s.labels)}
            now = timezone.now().timestamp()
            updates = []
            for container_id in ids:
                state = found.get(container_id)
                if state is None:
                    if self.shown.pop(container_id, None) is not None:
                        updates.append(
                            {"kind": "remove", "engine": self.engine.slug, "id": container_id}
                        )
                    self._unwatch(container_id)
                    continue
                tile = tile_of(state, self.engine.slug, now)
                before = self.shown.get(container_id)
                self.shown[container_id] = tile
                if before is None or _differs(before, tile):
                    updates.append(tile)
                self._follow_stats(tile)
            if updates:
                self.viewer.offer(updates)
        if not settling and not self.closed:
            asyncio.get_running_loop().call_later(
                SETTLE_SECONDS, lambda: self._spawn(self._refresh(ids, settling=True))
            )

    def _follow_stats(self, tile: dict) -> None:
        if tile["state"] == "running":
            self._watch(tile["id"])
        else:
            self._unwatch(tile["id"])

    def _watch(self, container_id: str) -> None:
        current = self.stats.get(container_id)
        if self.closed or (current is not None and not current.stopping.is_set()):
            return
        if current is not None:
            # Its stream ended with the container's last run: a restarted one has a new one.
            self._unwatch(container_id)
        upstream = container_stats(self.engine, container_id)
        recent = list(upstream.history)[-SPARK_POINTS:]
        if recent:
            self._to_tiles.offer(recent)
        upstream.subscribe(self._to_tiles)  # type: ignore[arg-type]
        self.stats[container_id] = upstream

    def _unwatch(self, container_id: str) -> None:
        upstream = self.stats.pop(container_id, None)
        if upstream is not None:
            upstream.unsubscribe(self._to_tiles)  # type: ignore[arg-type]


def _differs(before: dict, after: dict) -> bool:
    # The uptime's words change by themselves; the page works them out from the times.
    return any(before[k] != after[k] for k in after if k != "uptime")
