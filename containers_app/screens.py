"""Wall screens: their secret links (made, replaced and revoked, each with its audit entry and
the equivalent `python manage.py screens` line), the cookie a link is exchanged for, what a
screen's tiles show, and the live feed that keeps a screen's tiles current.

A link carries a token that Berth keeps only as its SHA-256. Opening the link swaps the token
for a signed cookie that names the screen and a fingerprint of its token's hash: replacing
(rotating) or revoking the link makes every cookie handed out for it worthless, and the open
screens notice within a second (consumers/screens.py).
"""

import asyncio
import hashlib
import hmac
import logging
import secrets
from collections.abc import Iterable
from datetime import datetime

from django.core import signing
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from containers_app import access, audit, cli
from containers_app.engine import Engine, EngineError
from containers_app.engine import containers as engine_containers
from containers_app.engine.containers import ContainerState
from containers_app.models import Screen, Team
from containers_app.streams.events import events_upstream
from containers_app.streams.executor import engine_call
from containers_app.streams.fanout import Viewer
from containers_app.streams.stats import StatsUpstream, container_stats

log = logging.getLogger(__name__)

TOKEN_BYTES = 32
# What a link's token looks like in a URL (secrets.token_urlsafe: 43 characters of these).
TOKEN_PATTERN = r"[A-Za-z0-9_-]{16,128}"
COOKIE_NAME = "berth_screen"
COOKIE_SALT = "berth.screens.cookie"
# Browsers keep a cookie 400 days at most; each load of the wall page renews it.
COOKIE_MAX_AGE = 400 * 24 * 3600
# How often an open screen's socket asks whether its link still holds (revoked, replaced),
# and every how many of those checks it looks again at which compose projects its team has.
CHECK_SECONDS = 1.0
RESCOPE_CHECKS = 10
# Points of a tile's CPU and memory sparklines: one sample a second.
SPARK_POINTS = 60


class ScreenRevoked(Exception):
    """A revoked screen's link cannot be replaced: make a new screen."""


# --- tokens and cookies ---------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def fingerprint(token_hash: str) -> str:
    """What a screen's cookie carries of its token's hash: it changes with the token, and
    says nothing of the hash itself."""
    return hashlib.sha256(f"berth screen cookie {token_hash}".encode()).hexdigest()[:32]


def screen_for_token(token: str) -> Screen | None:
    """The screen whose link carries `token`, if it is not revoked."""
    return (
        Screen.objects.select_related("team")
        .filter(token_hash=hash_token(token), revoked__isnull=True)
        .first()
    )


def cookie_value(screen: Screen) -> str:
    return signing.dumps({"s": screen.pk, "f": fingerprint(screen.token_hash)}, salt=COOKIE_SALT)


def read_cookie(value: str) -> tuple[int, str] | None:
    """(screen id, fingerprint) of a screen cookie's value, if Berth signed it."""
    if not value:
        return None
    try:
        data = signing.loads(value, salt=COOKIE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    screen_id, mark = data.get("s"), data.get("f")
    if not isinstance(screen_id, int) or not isinstance(mark, str):
        return None
    return screen_id, mark


def screen_for_cookie(value: str) -> Screen | None:
    """The screen a cookie opens: signed by Berth, for a screen not revoked, whose link has
    not been replaced since."""
    found = read_cookie(value)
    if found is None:
        return None
    screen_id, mark = found
    screen = Screen.objects.select_related("team").filter(pk=screen_id, revoked__isnull=True)
    screen = screen.first()
    if screen is None or not hmac.compare_digest(fingerprint(screen.token_hash), mark):
        return None
    return screen


def still_valid(screen_id: int, mark: str) -> bool:
    """Whether a screen's cookie still opens it: one query, asked every CHECK_SECONDS."""
    token_hash = (
        Screen.objects.filter(pk=screen_id, revoked__isnull=True)
        .values_list("token_hash", flat=True)
        .first()
    )
    return token_hash is not None and hmac.compare_digest(fingerprint(token_hash), mark)


def set_cookie(response: HttpResponse, request: HttpRequest, screen: Screen) -> None:
    """Gives the browser the screen's cookie: only Berth's own pages send it (Strict), no
    script reads it, and over HTTPS only where the page came over HTTPS."""
    response.set_cookie(
        COOKIE_NAME,
        cookie_value(screen),
        max_age=COOKIE_MAX_AGE,
        path="/",
        secure=request.is_secure(),
        httponly=True,
        samesite="Strict",
    )


# --- who manages which screens ---------------------------------------------------------------


def managed_teams(actor: access.Actor) -> tuple[list[str], bool]:
    """The teams (slugs) whose screens `actor` may make, replace and revoke, and whether they
    may for screens of the whole host: superusers every team and the host; team admins
    their teams."""
    if not actor.is_user:
        return [], False
    if actor.superuser:
        return list(Team.objects.values_list("slug", flat=True)), True
    return access.teams_for(actor, access.ADMINISTER), False


def may_manage(actor: access.Actor, screen: Screen) -> bool:
    teams, every = managed_teams(actor)
    if screen.team_id is None:
        return every
    return every or screen.team.slug in teams


def managed_screens(actor: access.Actor):
    """The screens `actor` may manage, newest first (revoked ones too, for the record)."""
    teams, every = managed_teams(actor)
    screens = Screen.objects.select_related("team", "created_by").order_by("-created", "-pk")
    return screens if every else screens.filter(team__slug__in=teams)


# --- changes, each with its audit entry ------------------------------------------------------


def command_create(name: str, team: str | None, project: str = "", logs: bool = False) -> str:
    scope = ["--team", team] if team else ["--every-team"]
    extra = (["--project", project] if project else []) + (["--logs"] if logs else [])
    return cli.manage("screens", "create", name, *scope, *extra)


def command_list() -> str:
    return cli.manage("screens", "list")


def command_rotate(screen: Screen) -> str:
    return cli.manage("screens", "rotate", str(screen.pk))


def command_revoke(screen: Screen) -> str:
    return cli.manage("screens", "revoke", str(screen.pk))


def team_of(screen: Screen) -> str:
    return screen.team.slug if screen.team_id else ""


def describe(screen: Screen) -> str:
    """What a screen shows, in words: for pages, audit entries and `screens list`."""
    where = f"team {screen.team.slug}" if screen.team_id else "every container on the host"
    if screen.project:
        where += f", compose project {screen.project}"
    return where + (", with log lines" if screen.show_logs else "")


def _record(
    by,
    *,
    action: str,
    screen: Screen,
    command: str,
    message: str = "",
    error: str = "",
    denied: bool = False,
) -> None:
    """One audit entry of a screen's change: done, failed (`error`: why) or refused
    (`denied`); never its token. `by` None: from the shell."""
    audit.write(
        user=by if by is not None and by.is_authenticated else None,
        username=by.get_username() if by is not None else audit.SHELL,
        engine="",
        action=action,
        target=f"screen {screen.pk} {screen.name}",
        command=command,
        succeeded=not error,
        message=error or message,
        team=team_of(screen),
        denied=denied,
    )


def refused(by, *, action: str, screen: Screen, command: str, reason: str) -> None:
    """Records a change of `screen` that access refused."""
    _record(by, action=action, screen=screen, command=command, error=reason, denied=True)


def screen_create(
    *, by, name: str, team: Team | None, project: str = "", show_logs: bool = False
) -> tuple[Screen, str]:
    """Makes a screen; returns it and its link's token, which is not kept (only its hash):
    the caller shows it once."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction.atomic():
        screen = Screen.objects.create(
            name=name,
            team=team,
            project=project,
            show_logs=show_logs,
            token_hash=hash_token(token),
            created_by=by if by is not None and by.is_authenticated else None,
        )
        command = command_create(name, team.slug if team else None, project, show_logs)
        _record(
            by, action="screen create", screen=screen, command=command, message=describe(screen)
        )
    return screen, token


def screen_rotate(*, by, screen: Screen) -> str:
    """Gives `screen` a new link; the old one and every cookie it was swapped for stop
    working. Returns the new token. Raises ScreenRevoked for a revoked screen."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction.atomic():
        changed = Screen.objects.filter(pk=screen.pk, revoked__isnull=True).update(
            token_hash=hash_token(token)
        )
        if changed:
            screen.token_hash = hash_token(token)
            _record(
                by,
                action="screen rotate",
                screen=screen,
                command=command_rotate(screen),
                message="new link; the old one no longer opens it",
            )
    if not changed:
        reason = "This screen is revoked: make a new one instead."
        _record(
            by, action="screen rotate", screen=screen, command=command_rotate(screen), error=reason
        )
        raise ScreenRevoked(reason)
    return token


def screen_revoke(*, by, screen: Screen) -> bool:
    """Revokes `screen`: its link and cookies stop working, and its open walls close.
    Returns False if it was revoked already."""
    with transaction.atomic():
        now = timezone.now()
        changed = Screen.objects.filter(pk=screen.pk, revoked__isnull=True).update(revoked=now)
        if changed:
            screen.revoked = now
            _record(
                by,
                action="screen revoke",
                screen=screen,
                command=command_revoke(screen),
                message="its link and open walls stop working",
            )
    return bool(changed)


# --- tiles ----------------------------------------------------------------------------------


def duration(seconds: float) -> str:
    """A short, wall-readable length of time: 42 s, 17 min, 3 h 05 min, 2 d 4 h. The same
    as screen.js writes it."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


def problem_of(state: ContainerState) -> str:
    """Why a container needs someone's attention, or "": OOM-killed, restarting, unhealthy,
    dead, or failed (exited with a code other than 0, which its state's words give)."""
    if state.oom_killed:
        return "OOM-killed"
    if state.state == "restarting":
        return "restarting"
    if state.health == "unhealthy":
        return "unhealthy"
    if state.state == "dead":
        return "dead"
    if state.state == "exited" and state.exit_code != 0:
        return "failed"
    return ""


def _epoch(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment else None


def _state_text(state: ContainerState) -> str:
    if state.state == "exited":
        return f"exited ({state.exit_code})"
    if state.health and state.state == "running":
        return f"running · {state.health}"
    return state.state


def _uptime(state: ContainerState, now: float) -> str:
    started, finished = _epoch(state.started_at), _epoch(state.finished_at)
    if state.state in ("running", "paused", "restarting") and started:
        return f"up {duration(now - started)}"
    if finished:
        return f"stopped {duration(now - finished)} ago"
    return "never started"


def tile_of(state: ContainerState, now: float | None = None) -> dict:
    """What a screen's tile shows of a container, as screen.js and screens/_tile.html read
    it: no command, no environment, no ports, nothing to act on."""
    now = timezone.now().timestamp() if now is None else now
    problem, state_text = problem_of(state), _state_text(state)
    return {
        "kind": "tile",
        "id": state.id,
        "name": state.name,
        "project": state.labels.get(access.PROJECT_LABEL, ""),
        "state": state.state,
        "health": state.health,
        "exit_code": state.exit_code,
        "oom_killed": state.oom_killed,
        "restarts": state.restart_count,
        "started": _epoch(state.started_at),
        "finished": _epoch(state.finished_at),
        "problem": problem,
        "state_text": state_text,
        # The problem, where the state's words do not say it already ("running · unhealthy").
        "problem_text": "" if problem in state_text else problem,
        "uptime": _uptime(state, now),
    }


STATE_ORDER = {"running": 0, "restarting": 0, "paused": 1, "created": 2, "exited": 3, "dead": 3}


def tile_order(tile: dict) -> tuple:
    """Problems first, then running, paused, made, stopped; by name within each."""
    return (0 if tile["problem"] else 1, STATE_ORDER.get(tile["state"], 4), tile["name"])


def group_order(project: str, tiles: list[dict]) -> tuple:
    """Projects with a problem first; containers of no project last; by name."""
    return (0 if any(t["problem"] for t in tiles) else 1, project == "", project)


def grouped(tiles: Iterable[dict]) -> list[dict]:
    """Tiles by compose project, in the order the wall shows them (as screen.js orders)."""
    groups: dict[str, list[dict]] = {}
    for tile in tiles:
        groups.setdefault(tile["project"], []).append(tile)
    return [
        {
            "project": project,
            "title": project or "no compose project",
            "tiles": sorted(members, key=tile_order),
        }
        for project, members in sorted(groups.items(), key=lambda g: group_order(*g))
    ]


def visible_states(engine: Engine, actor: access.Actor) -> list[ContainerState]:
    """The states of the containers `actor` (a screen) may see: one list call, then one
    inspect for each of those only."""
    listed = engine_containers.container_list(engine=engine, all=True)
    ids = [c.id for c in access.visible(actor, access.CONTAINER, listed)]
    return engine_containers.container_states(engine=engine, container_ids=ids)


def _may_see(actor: access.Actor, labels: dict[str, str]) -> bool:
    return access.allowed(actor, access.VIEW, access.Target(access.CONTAINER, labels))


def board(engine: Engine, actor: access.Actor) -> list[dict]:
    """A screen's tiles, grouped and ordered, for its page's first response."""
    now = timezone.now().timestamp()
    return grouped(tile_of(state, now) for state in visible_states(engine, actor))


# --- the live feed --------------------------------------------------------------------------

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

    def __init__(self, viewer: Viewer) -> None:
        self.viewer = viewer

    def offer(self, samples: list[dict]) -> None:
        self.viewer.offer([{"kind": "stats", **{k: s[k] for k in STATS_FIELDS}} for s in samples])

    def notice(self, **message) -> None:
        # A stream that ends (its container stopped) shows in the container's tile anyway.
        pass


class ScreenFeed:
    """Keeps one open screen's tiles current, from the engine's shared events upstream and
    the shared stats upstreams of the running containers it shows: never anything about a
    container the screen may not see.

    What goes to `viewer`: {"kind": "tile", ...} for a new or changed tile, {"kind": "remove",
    "id"} for one gone (or no longer visible), {"kind": "board", "ids"} after a full reload,
    {"kind": "stats", "id", "cpu", "mem", "limit"} samples, and notices {"kind": "engine",
    "state": "down" | "up", "notice"} when the engine goes away and comes back."""

    def __init__(self, engine: Engine, actor: access.Actor, viewer: Viewer) -> None:
        self.engine = engine
        self.actor = actor
        self.viewer = viewer
        self.shown: dict[str, dict] = {}
        self.stats: dict[str, StatsUpstream] = {}
        self._to_tiles = _StatsToTiles(viewer)
        self._pending: set[str] = set()
        self._flush: asyncio.TimerHandle | None = None
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task] = set()
        self._events = None
        self.closed = False

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

    def reload_soon(self) -> None:
        """Sends the whole board again (the page missed part of it)."""
        if not self.closed:
            self._spawn(self.reload())

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
            elif action != "destroy" and _may_see(self.actor, event.get("attributes") or {}):
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
            self.viewer.notice(kind="engine", state="down", notice=message.get("notice", ""))
        elif state == "live":
            self.viewer.notice(kind="engine", state="up", notice=message.get("notice", ""))
            if message.get("resync"):
                self.reload_soon()

    async def reload(self) -> None:
        """Sends every tile the screen shows, and the list of them (the page drops others)."""
        async with self._lock:
            try:
                states = await engine_call(visible_states, self.engine, self.actor)
            except EngineError as error:
                self.viewer.notice(kind="engine", state="down", notice=error.reason)
                return
            now = timezone.now().timestamp()
            tiles = [tile_of(state, now) for state in states]
            gone = set(self.shown) - {t["id"] for t in tiles}
            self.shown = {t["id"]: t for t in tiles}
            self.viewer.offer([*tiles, {"kind": "board", "ids": list(self.shown)}])
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
            found = {s.id: s for s in states if _may_see(self.actor, s.labels)}
            now = timezone.now().timestamp()
            updates = []
            for container_id in ids:
                state = found.get(container_id)
                if state is None:
                    if self.shown.pop(container_id, None) is not None:
                        updates.append({"kind": "remove", "id": container_id})
                    self._unwatch(container_id)
                    continue
                tile = tile_of(state, now)
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
