"""find: what a user typed turned into exactly one object the actor may see, once, in the
engine's own order; an object the actor may not see is answered exactly as a missing one.

From then on callers hold a `Found` and pass its full id to the engine, never the user's
text: a name can be another object's id (a container named as another team's full id), and a
reference can move between the check and the change.
"""

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from containers_app import access, image_origins
from containers_app.engine import Engine, EngineError, NotFound
from containers_app.engine import containers as engine_containers
from containers_app.engine import images as engine_images
from containers_app.engine import networks as engine_networks
from containers_app.engine import volumes as engine_volumes
from containers_app.streams.executor import engine_call

# What the engine answers when asked about a missing object of each kind.
MISSING = {
    access.CONTAINER: "No such container: {}",
    access.IMAGE: "No such image: {}",
    access.NETWORK: "network {} not found",
    access.VOLUME: "get {}: no such volume",
}
AMBIGUOUS = "{} names more than one {}: give more of its id."
HEX = re.compile(r"^[0-9a-f]+$")


class Hidden(NotFound):
    """An object the actor may not see: worded exactly as a missing one. Only the audit
    trail tells the two apart (an attempted change of a hidden object is a denied one)."""


class Ambiguous(NotFound):
    """A reference that names more than one object (networks may share a name)."""


@dataclass(frozen=True)
class Found:
    """One object as it was checked: the engine's own record of it (`obj`: the inspect, or a
    list row), its full id (a volume's: its name) and its access target."""

    kind: str
    id: str
    name: str
    target: access.Target
    obj: Any
    engine: Engine

    @property
    def short_id(self) -> str:
        return self.id.removeprefix("sha256:")[:12]

    @property
    def label(self) -> str:
        """How a message or the audit trail names it: the name the user sees."""
        return self.name or self.short_id


def missing(engine: Engine, kind: str, ref: str) -> NotFound:
    return NotFound(MISSING[kind].format(ref), engine=engine.base_url)


def _name_of(kind: str, obj) -> str:
    if kind == access.IMAGE:
        return (obj.tags or ("",))[0]
    return obj.name


def _inspect(engine: Engine, kind: str, ref: str, light: bool):
    """The engine's own lookup of `ref` (it resolves in its own order), or NotFound."""
    if kind == access.CONTAINER:
        inspect = engine_containers.container_ref if light else engine_containers.container_inspect
        return inspect(engine=engine, container_id=ref)
    if kind == access.IMAGE:
        return engine_images.image_inspect(engine=engine, image_id=ref)
    if kind == access.NETWORK:
        try:
            return engine_networks.network_inspect(engine=engine, network_id=ref)
        except EngineError as error:
            if "ambiguous" in error.reason:
                # The engine counts the matches; their number would tell of hidden ones.
                raise Ambiguous(AMBIGUOUS.format(ref, "network"), engine=engine.base_url) from None
            raise
    return engine_volumes.volume_inspect(engine=engine, name=ref)


def find_visible(
    actor: access.Actor, engine: Engine, kind: str, ref: str, *, light: bool = False
) -> Found:
    """The one object of `kind` that `ref` names on `engine`, if `actor` may see it; else
    NotFound (Hidden when it exists but is not theirs), in the engine's own words. `light`,
    for a container: the short record sockets need, not the whole inspect."""
    try:
        obj = _inspect(engine, kind, ref, light)
    except NotFound as error:
        if isinstance(error, Ambiguous):
            raise
        raise missing(engine, kind, ref) from None
    target = access.target_of(kind, obj)
    if kind == access.IMAGE:
        made_by = image_origins.origin_teams(engine=engine, image_id=obj.id)
        target = dataclasses.replace(target, made_by=made_by)
    if not access.allowed(actor, access.VIEW, target):
        raise Hidden(MISSING[kind].format(ref), engine=engine.base_url)
    full_id = obj.name if kind == access.VOLUME else obj.id  # a volume's name is its id
    return Found(kind, full_id, _name_of(kind, obj), target, obj, engine)


async def find_visible_async(
    actor: access.Actor, engine: Engine, kind: str, ref: str, *, light: bool = False
) -> Found:
    """find_visible from async code: the engine call runs in the engine executor."""
    return await engine_call(find_visible, actor, engine, kind, ref, light=light)


def resolve_container(ref: str, rows: Sequence) -> Any | None:
    """The row `ref` names among `rows` (each with `.id` and `.names`), in the engine's
    order: a full id, then an exact name, then a unique id prefix. None if nothing matches;
    Ambiguous if the prefix is shared."""
    name = ref.removeprefix("/")
    for matches in (
        lambda row: row.id == ref,
        lambda row: name == row.name or name in row.names,
    ):
        if found := next((row for row in rows if matches(row)), None):
            return found
    if not HEX.match(ref):
        return None
    prefixed = [row for row in rows if row.id.startswith(ref)]
    if len(prefixed) > 1:
        raise Ambiguous(AMBIGUOUS.format(ref, "container"))
    return prefixed[0] if prefixed else None


def find_many_containers(
    actor: access.Actor, engine: Engine, refs: Sequence[str]
) -> dict[str, Found | NotFound]:
    """Each of `refs` as find_visible would answer it, from one `docker ps -a`: a Found, or
    the NotFound to report (Hidden for another team's)."""
    rows = engine_containers.container_list(engine=engine, all=True)
    results: dict[str, Found | NotFound] = {}
    for ref in refs:
        try:
            row = resolve_container(ref, rows)
        except Ambiguous as error:
            results[ref] = Ambiguous(error.reason, engine=engine.base_url)
            continue
        if row is None:
            results[ref] = missing(engine, access.CONTAINER, ref)
            continue
        target = access.target_of(access.CONTAINER, row)
        if not access.allowed(actor, access.VIEW, target):
            results[ref] = Hidden(MISSING[access.CONTAINER].format(ref), engine=engine.base_url)
            continue
        results[ref] = Found(access.CONTAINER, row.id, row.name, target, row, engine)
    return results
