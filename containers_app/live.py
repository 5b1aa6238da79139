"""Pages kept current by the engine's events: one events subscription per engine, and each
change rendered once per distinct page view, however many people watch it.

A page's websocket registers a Watcher with the page it shows (a list, a container, the
system page) and who watches it (an access.Actor). What the watcher may see and do decides
which rows, buttons and events they get, so pages are rendered once per distinct rights, not
once per person. An object a watcher may not see sends them nothing: no row, no removal, no
event, not even a redraw that it caused.
"""

import asyncio
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.template.loader import render_to_string

from containers_app import access
from containers_app.access import NOBODY, Actor, Target
from containers_app.engine import Engine, EngineError
from containers_app.engine import containers as engine_containers
from containers_app.engine import images as engine_images
from containers_app.engine import networks as engine_networks
from containers_app.engine import system as engine_system
from containers_app.engine import volumes as engine_volumes
from containers_app.rows import container_rows, image_rows
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
# What the system page's feed shows of an event.
FEED_FIELDS = ("type", "action", "id", "name", "time")
RECENT_FEED = 50


@dataclass(frozen=True)
class PageView:
    """What a watcher shows: `page` is containers, images, networks, volumes, system or
    container (with `object_id`, the container's full id); `variant` is a list's filter
    (images: dangling). `actor`: who watches; views differ by their rights (`rights`, the
    actor's key), not by who holds them, so watchers alike share one rendering."""

    page: str
    actor: Actor = field(default=NOBODY, compare=False)
    variant: str = ""
    object_id: str = ""
    rights: tuple = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rights", self.actor.key())


def _page_viewer() -> Viewer:
    # Changes come batched already (BATCH_SECONDS, LIST_BATCH_SECONDS): send them at once.
    return Viewer(batch_seconds=0)


@dataclass(eq=False)
class Watcher:
    view: PageView
    viewer: Viewer = field(default_factory=_page_viewer)


def _host(actor: Actor) -> bool:
    """Superusers: the engine's own events and objects nobody else may see."""
    return actor.is_user and actor.superuser


def sees(actor: Actor, event: dict) -> bool:
    """Whether `actor` may see the object `event` is about, and the container it names (a
    container joining a network, mounting a volume). Images are everyone's; the engine's own
    events (daemon, plugins, builds) and objects whose owner is unknown, superusers' only."""
    kind = event["type"]
    attributes = event.get("attributes") or {}
    if kind == access.CONTAINER:
        # A container's event carries its labels among its attributes.
        return access.allowed(actor, access.VIEW, Target(access.CONTAINER, attributes))
    if kind == access.IMAGE:
        return access.allowed(actor, access.VIEW, Target(access.IMAGE, attributes))
    if kind not in (access.NETWORK, access.VOLUME):
        return _host(actor)
    labels = event.get("labels")
    if labels is None:
        return _host(actor)
    builtin = kind == access.NETWORK and event.get("name") in engine_networks.BUILTIN
    if not access.allowed(actor, access.VIEW, Target(kind, labels, host_default=builtin)):
        return False
    if "container_labels" not in event:
        return True
    container = event["container_labels"]
    if container is None:
        return _host(actor)
    return access.allowed(actor, access.VIEW, Target(access.CONTAINER, container))


def feed_item(event: dict) -> dict:
    """An event as the system page's feed shows it."""
    return {"kind": "event", **{k: event.get(k, "") for k in FEED_FIELDS}}


def _lists_context(engine: Engine, page: str, variant: str) -> dict:
    """What a list page's rows show, for everyone: each view filters it (_view_context)."""
    if page == "images":
        dangling = variant == "dangling"
        return {
            "images": engine_images.image_list(engine=engine, dangling=dangling),
            "dangling": dangling,
            # Each row names the containers using its image that the viewer may see.
            "containers": engine_containers.container_list(engine=engine, all=True),
        }
    if page == "networks":
        return {"networks": engine_networks.network_list(engine=engine)}
    if page == "volumes":
        return {"volumes": engine_volumes.volume_list(engine=engine)}
    if page == "system":
        system = engine_system.system_info(engine=engine)
        return {"system": system, "info": system.info}
    raise ValueError(page)


def _view_context(view: PageView, shared: dict) -> dict:
    """What `view`'s watcher may see of `shared`, as the page's own view renders it."""
    actor = view.actor
    context = dict(shared, actor=actor, can_change=access.allowed(actor, access.CHANGE))
    if view.page == "images":
        containers = context.pop("containers")
        context["images"] = image_rows(shared["images"], actor=actor, containers=containers)
    elif view.page == "networks":
        context["networks"] = access.visible(actor, access.NETWORK, shared["networks"])
    elif view.page == "volumes":
        context["volumes"] = access.visible(actor, access.VOLUME, shared["volumes"])
    return context


def _render_rows(engine: Engine, views: list[PageView]) -> dict[PageView, str]:
    """The rows partial (the figures, for the system page) of each of `views`, all of one
    page and variant, as their pages would render them: one engine call for all of them."""
    page, variant = views[0].page, views[0].variant
    shared = dict(_lists_context(engine, page, variant), engine=engine)
    template = "system/_live.html" if page == "system" else f"{page}/_rows.html"
    return {view: render_to_string(template, _view_context(view, shared)) for view in views}


def _render_container_rows(
    engine: Engine, changed: Mapping[str, Mapping[str, str]], actors: Mapping[tuple, Actor]
) -> list[dict]:
    """One list call for every changed container; each row rendered once per distinct
    rights that may see it (`actors`: rights -> an actor holding them). `changed`: each
    container's labels as its latest event gave them, which say who may hear it was removed.
    An update's "html" (or a removal's "to") holds only the rights that may see it."""
    ids = sorted(changed)
    listed = engine_containers.container_list(engine=engine, all=True, ids=ids)
    rows = {c.id: c for c in listed}
    updates = []
    for container_id in ids:
        row = rows.get(container_id)
        if row is None:
            gone = Target(access.CONTAINER, changed[container_id])
            to = [key for key, a in actors.items() if access.allowed(a, access.VIEW, gone)]
            updates.append({"kind": "container", "id": container_id, "removed": True, "to": to})
            continue
        target = Target(access.CONTAINER, row.labels)
        html = {}
        for key, actor in actors.items():
            if access.allowed(actor, access.VIEW, target):
                context = {
                    "c": container_rows([row], actor)[0],
                    "can_change": access.allowed(actor, access.CHANGE),
                    "engine": engine,
                }
                html[key] = render_to_string("containers/_row.html", context)
        updates.append(
            {
                "kind": "container",
                "id": row.id,
                "name": row.name,
                "state": row.state,
                "labels": row.labels,
                "html": html,
            }
        )
    return updates


def _for_rights(update: dict, rights: tuple) -> dict | None:
    """What of `update` goes to watchers with `rights`: None if they may not see it."""
    if update.get("removed"):
        if rights not in update["to"]:
            return None
        return {"kind": "container", "id": update["id"], "removed": True}
    html = update["html"].get(rights)
    return None if html is None else {**update, "html": html}


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
    """Whether `event` changes what `view` shows, to its watcher's eyes."""
    if view.page == "container" and event["id"] != view.object_id:
        return False
    return view.page in changed_pages(event) and sees(view.actor, event)


def _shows(update: dict) -> tuple:
    """What of a row update a second drawing must change to be sent."""
    return (update.get("state", "removed"), update.get("name", ""))


class LivePages:
    """Watchers of one engine's pages, fed from its events."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.watchers: dict[PageView, set[Watcher]] = defaultdict(set)
        self.upstream = None
        # Containers to redraw, with the labels their latest event gave (who may see them).
        self._changed_containers: dict[str, Mapping[str, str]] = {}
        # List views to redraw whole: those whose watchers may see what changed.
        self._stale: set[PageView] = set()
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
            if not pages:
                continue
            if "containers" in pages:
                self._changed_containers[event["id"]] = event.get("attributes") or {}
            for view in self.watchers:
                if view.page in ROW_PAGES:
                    if view.page == "container" and concerns(view, event):
                        self._tell(view, [{"kind": "refresh"}])
                elif view.page in pages and sees(view.actor, event):
                    self._stale.add(view)
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

    def _tell(self, view: PageView, items: list) -> None:
        for watcher in self.watchers.get(view, ()):
            watcher.viewer.offer(items)

    def _spawn(self, work) -> None:
        task = asyncio.create_task(work())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _feed(self, events: list[dict]) -> None:
        """The system pages' feed: each gets the events of what its watchers may see."""
        for view in [v for v in self.watchers if v.page == "system"]:
            items = [feed_item(e) for e in events if sees(view.actor, e)]
            if items:
                self._tell(view, Batch(items))  # encoded once for the view's watchers

    def recent_feed(self, view: PageView) -> list[dict]:
        """The last events `view`'s watcher may see, for a system page that just opened."""
        recent = self.upstream.recent if self.upstream else ()
        return [feed_item(e) for e in recent if sees(view.actor, e)][-RECENT_FEED:]

    async def _containers(self) -> None:
        self._flush_containers = None
        changed, self._changed_containers = self._changed_containers, {}
        await self._draw_containers(changed)
        # The engine announces some changes (pause, unpause, die) a moment before its list
        # shows them: draw those rows once more when it does.
        self._settling.update(changed.keys())
        asyncio.get_running_loop().call_later(
            SETTLE_SECONDS, self._spawn, lambda: self._settle(changed)
        )

    async def _settle(self, changed: Mapping[str, Mapping[str, str]]) -> None:
        try:
            await self._draw_containers(changed, changed_only=True)
        finally:
            self._settling.subtract(changed.keys())
            for container_id in changed:
                if self._settling[container_id] <= 0:
                    del self._settling[container_id]
                    self._shown.pop(container_id, None)

    async def _draw_containers(
        self, changed: Mapping[str, Mapping[str, str]], *, changed_only: bool = False
    ) -> None:
        """Draws the rows of the `changed` containers on every containers list whose
        watchers may see them. `changed_only`: only the rows whose state or name differs
        from what was drawn last; with hundreds of viewers, drawing every row once more
        doubled the frames sent."""
        views = [v for v in self.watchers if v.page == "containers" and self.watchers[v]]
        if not views:
            return
        actors = {view.rights: view.actor for view in views}
        try:
            updates = await engine_call(_render_container_rows, self.engine, changed, actors)
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
            shaped = [s for s in (_for_rights(u, view.rights) for u in updates) if s]
            if shaped:
                self._tell(view, Batch(shaped))  # encoded once for the view's watchers

    async def _lists(self) -> None:
        self._flush_lists = None
        stale, self._stale = self._stale, set()
        for views in _by_list(v for v in stale if self.watchers.get(v)):
            try:
                drawn = await engine_call(_render_rows, self.engine, views)
            except EngineError as error:
                log.warning("could not redraw %s after events: %s", views[0].page, error.reason)
                continue
            for view, html in drawn.items():
                self._tell(view, Batch([{"kind": "rows", "html": html}]))

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
                self._stale.discard(watcher.view)
        if not self.watchers and self.upstream is not None:
            self.upstream.unsubscribe(self)  # type: ignore[arg-type]
            self.upstream = None


def _by_list(views: Iterable[PageView]) -> list[list[PageView]]:
    """`views` grouped by what they list (page and variant), each group drawn from one
    engine call."""
    groups: dict[tuple[str, str], list[PageView]] = defaultdict(list)
    for view in views:
        groups[(view.page, view.variant)].append(view)
    return list(groups.values())


_pages: dict[str, LivePages] = {}


def live_pages(engine: Engine) -> LivePages:
    """The process's LivePages of an engine (used on the event loop only)."""
    pages = _pages.get(engine)
    if pages is None or pages.engine != engine:
        pages = _pages[engine] = LivePages(engine)
    return pages
