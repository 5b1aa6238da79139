"""Pages kept current by the engine's events: one events subscription per engine, and each
change rendered once per distinct page view, however many people watch it.

A page's websocket registers a Watcher with the page it shows (a list, a container, the
system page) and whether its user may change things, since that decides the buttons drawn.
"""

import asyncio
import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.template.loader import render_to_string

from containers_app.engine import Engine, EngineError
from containers_app.engine import containers as engine_containers
from containers_app.engine import images as engine_images
from containers_app.engine import networks as engine_networks
from containers_app.engine import system as engine_system
from containers_app.engine import volumes as engine_volumes
from containers_app.rows import container_rows
from containers_app.streams.events import events_upstream
from containers_app.streams.executor import engine_call
from containers_app.streams.fanout import Batch, Viewer

log = logging.getLogger(__name__)

# Container actions that change what a row shows; exec_*, attach, resize and the like do not.
CONTAINER_ACTIONS = {
    "create", "start", "restart", "stop", "die", "kill", "pause", "unpause", "destroy",
    "rename", "update", "oom",
}  # fmt: skip
BATCH_SECONDS = 0.02
LIST_BATCH_SECONDS = 0.25
SETTLE_SECONDS = 1.0
# A page rendered longer ago than this reloads what it shows rather than replay events.
CATCH_UP_NS = 60 * 1_000_000_000
# A container's change is pushed to these row by row (its row, its page's refresh).
ROW_PAGES = ("containers", "container")
# Which lists an event type makes stale, redrawn whole.
STALE_LISTS = {
    "container": ("images", "volumes", "networks", "system"),
    "image": ("images", "system"),
    "network": ("networks",),
    "volume": ("volumes", "system"),
}


@dataclass(frozen=True)
class PageView:
    """What a watcher shows: `page` is containers, images, networks, volumes, system or
    container (with `object_id`); `variant` is a list's filter (images: dangling)."""

    page: str
    can_change: bool
    variant: str = ""
    object_id: str = ""


def _page_viewer() -> Viewer:
    # Changes come batched already (BATCH_SECONDS, LIST_BATCH_SECONDS): send them at once.
    return Viewer(batch_seconds=0)


@dataclass(eq=False)
class Watcher:
    view: PageView
    viewer: Viewer = field(default_factory=_page_viewer)


def _render_rows(view: PageView, engine: Engine) -> str:
    """The rows partial of a list page, as its page view would render it."""
    if view.page == "images":
        dangling = view.variant == "dangling"
        context = {"images": engine_images.image_list(engine=engine, dangling=dangling)}
        context["dangling"] = dangling
    elif view.page == "networks":
        context = {"networks": engine_networks.network_list(engine=engine)}
    elif view.page == "volumes":
        context = {"volumes": engine_volumes.volume_list(engine=engine)}
    elif view.page == "system":
        context = {"system": engine_system.system_info(engine=engine)}
        context["info"] = context["system"].info
        return render_to_string("system/_live.html", context)
    else:
        raise ValueError(view.page)
    context["can_change"] = view.can_change
    return render_to_string(f"{view.page}/_rows.html", context)


def _render_container_rows(engine: Engine, ids: list[str], can_change: set[bool]) -> list[dict]:
    """One list call for every changed container; each row rendered once per permission."""
    rows = {c.id: c for c in engine_containers.container_list(engine=engine, all=True, ids=ids)}
    updates = []
    for container_id in ids:
        row = rows.get(container_id)
        if row is None:
            updates.append({"kind": "container", "id": container_id, "removed": True})
            continue
        update = {
            "kind": "container",
            "id": row.id,
            "name": row.name,
            "state": row.state,
            "labels": row.labels,
            "html": {},
        }
        shown = container_rows([row])[0]
        for allowed in can_change:
            update["html"][allowed] = render_to_string(
                "containers/_row.html", {"c": shown, "can_change": allowed}
            )
        updates.append(update)
    return updates


def changed_pages(event: dict) -> tuple[str, ...]:
    """The pages an event changes: for a container, its own page and its row (ROW_PAGES),
    and the lists STALE_LISTS names, which are redrawn whole."""
    kind, action = event["type"], event["action"].partition(":")[0]
    if kind != "container":
        return STALE_LISTS.get(kind, ())
    if action not in CONTAINER_ACTIONS:
        return ()
    return (*ROW_PAGES, *STALE_LISTS[kind])


def concerns(view: PageView, event: dict) -> bool:
    """Whether `event` changes what `view` shows."""
    if view.page == "container" and event["id"] != view.object_id:
        return False
    return view.page in changed_pages(event)


def _shows(update: dict) -> tuple:
    """What of a row update a second drawing must change to be sent."""
    return (update.get("state", "removed"), update.get("name", ""))


class LivePages:
    """Watchers of one engine's pages, fed from its events."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.watchers: dict[PageView, set[Watcher]] = defaultdict(set)
        self.upstream = None
        self._changed_containers: set[str] = set()
        self._stale: set[str] = set()
        self._flush_containers: asyncio.TimerHandle | None = None
        self._flush_lists: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task] = set()
        # What the rows of containers about to be drawn once more showed last, and how many
        # of those redraws each awaits.
        self._shown: dict[str, tuple] = {}
        self._settling: Counter[str] = Counter()

    # The events upstream delivers here (on the event loop).
    def offer(self, events: list[dict]) -> None:
        loop = asyncio.get_running_loop()
        for event in events:
            pages = changed_pages(event)
            if "containers" in pages:
                self._changed_containers.add(event["id"])
                self._notify_container_page(event["id"])
            self._stale.update(page for page in pages if page not in ROW_PAGES)
        self._feed(events)
        if self._changed_containers and not self._flush_containers:
            self._flush_containers = loop.call_later(BATCH_SECONDS, self._spawn, self._containers)
        if self._stale and not self._flush_lists:
            self._flush_lists = loop.call_later(LIST_BATCH_SECONDS, self._spawn, self._lists)

    def notice(self, **message) -> None:
        """The events stream reconnected or was lost: every page resynchronises."""
        for watchers in self.watchers.values():
            for watcher in watchers:
                watcher.viewer.notice(**message)

    def _spawn(self, work) -> None:
        task = asyncio.create_task(work())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _feed(self, events: list[dict]) -> None:
        feed = Batch(
            [
                {"kind": "event", **{k: e[k] for k in ("type", "action", "id", "name", "time")}}
                for e in events
            ]
        )
        for view, watchers in self.watchers.items():
            if view.page == "system":
                for watcher in watchers:
                    watcher.viewer.offer(feed)

    def _notify_container_page(self, container_id: str) -> None:
        for view, watchers in self.watchers.items():
            if view.page == "container" and view.object_id == container_id:
                for watcher in watchers:
                    watcher.viewer.offer([{"kind": "refresh"}])

    async def _containers(self) -> None:
        self._flush_containers = None
        ids, self._changed_containers = sorted(self._changed_containers), set()
        await self._draw_containers(ids)
        # The engine announces some changes (pause, unpause, die) a moment before its list
        # shows them: draw those rows once more when it does.
        self._settling.update(ids)
        asyncio.get_running_loop().call_later(
            SETTLE_SECONDS, self._spawn, lambda: self._settle(ids)
        )

    async def _settle(self, ids: list[str]) -> None:
        try:
            await self._draw_containers(ids, changed_only=True)
        finally:
            self._settling.subtract(ids)
            for container_id in ids:
                if self._settling[container_id] <= 0:
                    del self._settling[container_id]
                    self._shown.pop(container_id, None)

    async def _draw_containers(self, ids: list[str], *, changed_only: bool = False) -> None:
        """Draws the rows of `ids` on every containers list. `changed_only`: only the rows
        whose state or name differs from what was drawn last; with hundreds of viewers,
        drawing every row once more doubled the frames sent."""
        views = [v for v in self.watchers if v.page == "containers" and self.watchers[v]]
        if not views:
            return
        try:
            updates = await engine_call(
                _render_container_rows, self.engine, ids, {v.can_change for v in views}
            )
        except EngineError as error:
            log.warning("could not redraw containers after events: %s", error.reason)
            return
        if changed_only:
            updates = [u for u in updates if self._shown.get(u["id"]) != _shows(u)]
            if not updates:
                return
        for update in updates:
            self._shown[update["id"]] = _shows(update)
        for view in views:
            # Encoded once for all of the view's watchers.
            shaped = Batch(
                [{**u, "html": u["html"][view.can_change]} if "html" in u else u for u in updates]
            )
            for watcher in self.watchers[view]:
                watcher.viewer.offer(shaped)

    async def _lists(self) -> None:
        self._flush_lists = None
        stale, self._stale = self._stale, set()
        views = [v for v in self.watchers if v.page in stale and self.watchers[v]]
        for view in views:
            try:
                html = await engine_call(_render_rows, view, self.engine)
            except EngineError as error:
                log.warning("could not redraw %s after events: %s", view.page, error.reason)
                continue
            rows = Batch([{"kind": "rows", "html": html}])
            for watcher in self.watchers.get(view, ()):
                watcher.viewer.offer(rows)

    def add(self, watcher: Watcher, *, since_nano: int = 0) -> None:
        """Adds a page's watcher. `since_nano`: when the page was rendered; if something it
        shows changed since, or that cannot be told, the page is told to reload it."""
        now = time.time_ns()
        catch_up = now - CATCH_UP_NS <= since_nano <= now
        self.watchers[watcher.view].add(watcher)
        if self.upstream is None:
            # A new upstream reads from the page's time: what it missed comes as events.
            start = since_nano if catch_up else 0
            self.upstream = events_upstream(self.engine, since_nano=start)
            self.upstream.subscribe(self)  # type: ignore[arg-type]
        if since_nano and (not catch_up or self._missed(watcher.view, since_nano)):
            watcher.viewer.offer([{"kind": "refresh"}])

    def _missed(self, view: PageView, since_nano: int) -> bool:
        upstream = self.upstream
        if not upstream.saw_everything_since(since_nano):
            return True
        return any(e["time"] > since_nano and concerns(view, e) for e in upstream.recent)

    def remove(self, watcher: Watcher) -> None:
        watchers = self.watchers.get(watcher.view)
        if watchers is not None:
            watchers.discard(watcher)
            if not watchers:
                del self.watchers[watcher.view]
        if not self.watchers and self.upstream is not None:
            self.upstream.unsubscribe(self)  # type: ignore[arg-type]
            self.upstream = None

    def recent_events(self) -> list[dict]:
        return list(self.upstream.recent) if self.upstream else []


_pages: dict[str, LivePages] = {}


def live_pages(engine: Engine) -> LivePages:
    """The process's LivePages of an engine (used on the event loop only)."""
    pages = _pages.get(engine.name)
    if pages is None or pages.engine != engine:
        pages = _pages[engine.name] = LivePages(engine)
    return pages
