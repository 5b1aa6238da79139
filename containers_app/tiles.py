"""What a wall screen's tiles show of each container: state, health, uptime, restarts and
its problem, if any; grouped by engine and compose project, problems first."""

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from containers_app import access
from containers_app.engine import Engine
from containers_app.engine import containers as engine_containers
from containers_app.engine.containers import ContainerState

# Points of a tile's CPU and memory sparklines: one sample a second.
SPARK_POINTS = 60


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


def tile_of(state: ContainerState, engine: str, now: float | None = None) -> dict:
    """What a screen's tile shows of a container on the engine named `engine`, as screen.js
    and screens/_tile.html read it: no command, no environment, no ports, nothing to act on."""
    now = timezone.now().timestamp() if now is None else now
    problem, state_text = problem_of(state), _state_text(state)
    return {
        "kind": "tile",
        "engine": engine,
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


def group_order(project: str, tiles: list[dict], engine_place: int = 0) -> tuple:
    """Projects with a problem first; containers of no project last; by name, then in the
    order of the screen's engines (a project of that name on each is a group of its own)."""
    return (0 if any(t["problem"] for t in tiles) else 1, project == "", project, engine_place)


def grouped(tiles: Iterable[dict], engine_titles: dict[str, str] | None = None) -> list[dict]:
    """Tiles by engine and compose project, in the order the wall shows them (as screen.js
    orders). `engine_titles`, for a screen of several engines, in the order it lists them:
    each group's title names its engine."""
    titles = engine_titles or {}
    place = {slug: n for n, slug in enumerate(titles)}
    groups: dict[tuple[str, str], list[dict]] = {}
    for tile in tiles:
        groups.setdefault((tile["engine"], tile["project"]), []).append(tile)

    def order(group: tuple[tuple[str, str], list[dict]]) -> tuple:
        (engine, project), members = group
        return group_order(project, members, place.get(engine, 0))

    return [
        {
            "engine": engine,
            "project": project,
            "title": project or "no compose project",
            "engine_title": titles.get(engine, ""),
            "tiles": sorted(members, key=tile_order),
        }
        for (engine, project), members in sorted(groups.items(), key=order)
    ]


def visible_states(engine: Engine, actor: access.Actor) -> list[ContainerState]:
    """The states of the containers `actor` (a screen) may see: one list call, then one
    inspect for each of those only."""
    listed = engine_containers.container_list(engine=engine, all=True)
    ids = [c.id for c in access.visible(actor, access.CONTAINER, listed)]
    return engine_containers.container_states(engine=engine, container_ids=ids)


def may_see(actor: access.Actor, labels: dict[str, str]) -> bool:
    return access.allowed(actor, access.VIEW, access.Target(access.CONTAINER, labels))


def board(engine: Engine, actor: access.Actor) -> list[dict]:
    """A screen's tiles on one engine, for its page's first response."""
    now = timezone.now().timestamp()
    return [tile_of(state, engine.slug, now) for state in visible_states(engine, actor)]
