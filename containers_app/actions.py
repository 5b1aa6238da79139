"""The one path of every change: access, the engine call, then its audit entry (with the
`docker` command line, the object's name and id, and the owning team), on success, failure
and refusal.

A change of an existing object takes the `Found` that find.py resolved and checked, and its
engine call is handed that object's full id: never the text the user typed.
"""

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from containers_app import access, actors, audit, jobs
from containers_app.engine import Engine, EngineError
from containers_app.find import Found, Hidden

T = TypeVar("T")

# Why a change is refused to someone who may see its object.
ROLE_REFUSED = {
    access.OPERATE: "Only the team's operators and admins may do this.",
    access.ADMINISTER: "Only the team's admins may do this.",
}
HOST_REFUSED = "Only a superuser may do this."
# Bulk changes run side by side, as `docker stop a b c` does, but never flood the engine.
BULK_WORKERS = 8


def refusal(needs: str) -> str:
    return ROLE_REFUSED.get(needs, HOST_REFUSED)


class Refused(Exception):
    """A change access refused, for a list of results (a bulk action) that names why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _names(on: Found | access.Target, target: str) -> tuple[str, str]:
    """(target, object id) of an audit entry: a found object by its name and full id."""
    if isinstance(on, Found):
        return target or on.label, on.id
    return target, ""


def denied(
    request: HttpRequest,
    *,
    engine: Engine,
    action: str,
    command: str,
    team: str,
    reason: str,
    on: Found | access.Target | None = None,
    target: str = "",
) -> Refused:
    """Records a refused change of an object the actor may see (so the entry may name it)."""
    refused = Refused(reason)
    target, object_id = _names(on, target) if on is not None else (target, "")
    audit.record(
        request,
        engine=engine,
        action=action,
        target=target,
        object_id=object_id,
        command=command,
        error=refused,
        team=team,
        denied=True,
    )
    return refused


def refuse_if(
    request: HttpRequest,
    reasons: Sequence[str],
    *,
    engine: Engine,
    action: str,
    command: str,
    target: str,
    team: str = "",
) -> None:
    """Raises PermissionDenied (403) with `reasons`, recorded as denied, if there are any: a
    rule (rules.py) that refuses what access alone would let through."""
    if reasons:
        reason = " ".join(reasons)
        denied(
            request,
            engine=engine,
            action=action,
            command=command,
            team=team,
            reason=reason,
            target=target,
        )
        raise PermissionDenied(reason)


def check(
    request: HttpRequest,
    *,
    needs: str,
    on: Found | access.Target,
    action: str,
    command: str = "",
    engine: Engine | None = None,
    target: str = "",
) -> str:
    """Raises PermissionDenied (403) after recording the refusal if the request's actor may
    not do `needs` to `on`; else returns the owning team's slug ("" for none). A Found has
    been seen by the actor already (find.py), so the entry may name it."""
    engine = on.engine if isinstance(on, Found) else engine
    subject = on.target if isinstance(on, Found) else on
    actor = actors.of_request(request, engine)
    team = access.owner(actor, subject) or ""
    if not access.allowed(actor, needs, subject):
        refused = denied(
            request,
            engine=engine,
            action=action,
            command=command,
            team=team,
            reason=refusal(needs),
            on=on,
            target=target,
        )
        raise PermissionDenied(refused.reason)
    return team


def _recorded(request, *, engine, action, target, object_id, command, team, call):
    try:
        result = call()
    except Exception as error:
        # Not only EngineError: a change that failed any way must leave its trace.
        audit.record(
            request,
            engine=engine,
            action=action,
            target=target,
            object_id=object_id,
            command=command,
            error=error,
            team=team,
        )
        raise
    return result


def perform(
    request: HttpRequest,
    *,
    on: Found,
    needs: str,
    action: str,
    command: str,
    call: Callable[[str], T],
) -> T:
    """Checks that the request's actor may do `needs` to the found object, calls `call` with
    its full id (one engine call) and records it with its `docker` command line. Any failure
    is recorded, then raised again for the view or the error middleware to answer."""
    team = check(request, needs=needs, on=on, action=action, command=command)
    names = {"target": on.label, "object_id": on.id}
    entry = {"engine": on.engine, "action": action, "command": command, "team": team, **names}
    result = _recorded(request, **entry, call=lambda: call(on.id))
    audit.record(request, **entry)
    return result


def perform_new(
    request: HttpRequest,
    *,
    engine: Engine,
    needs: str,
    on: access.Target,
    action: str,
    target: str,
    command: str,
    call: Callable[[], T],
    named: Callable[[T], str] | None = None,
    object_id: str = "",
) -> T:
    """perform for what has no object yet, or is the host's: a create (`on` names its team),
    a prune, a registry login, a new name for an image (`object_id`: that image's id).
    `named`: the target from the call's result (a volume the engine names)."""
    team = check(
        request, engine=engine, needs=needs, on=on, action=action, target=target, command=command
    )
    entry = {"engine": engine, "action": action, "command": command, "team": team}
    entry["object_id"] = object_id
    result = _recorded(request, **entry, target=target, call=call)
    audit.record(request, **entry, target=named(result) if named else target)
    return result


def perform_job(
    request: HttpRequest,
    *,
    on: Found | access.Target,
    needs: str,
    kind: str,
    command: str,
    work: Callable,
    engine: Engine | None = None,
    target: str = "",
    key=None,
    cleanup: Callable[[], None] | None = None,
):
    """perform for a long operation: checks access as perform does, then starts `work` as a
    job (jobs.py) for the object's team, which records its audit entry when it ends. `key`
    joins a running job instead of starting another; `cleanup` runs once it is over."""
    engine = on.engine if isinstance(on, Found) else engine
    team = check(
        request, needs=needs, on=on, action=kind, command=command, engine=engine, target=target
    )
    try:
        return jobs.start(
            user=request.user,
            engine=engine,
            kind=kind,
            target=target or (on.label if isinstance(on, Found) else ""),
            command=command,
            work=work,
            key=key,
            cleanup=cleanup,
            team=team,
        )
    except BaseException:
        if cleanup is not None:
            cleanup()  # never started: what it was to send is deleted here
        raise


def perform_many(
    request: HttpRequest,
    *,
    engine: Engine,
    found: Mapping[str, Found | EngineError],
    needs: str,
    action: str,
    command_of: Callable[[Sequence[str]], str],
    call: Callable[[str], object],
) -> dict[str, Exception | None]:
    """A bulk change: each reference the user sent (`found`, from find) maps to what became
    of it: None (done), its refusal, or its error. Each object the actor may see gets one
    audit entry, done, failed or refused; hidden ones are answered as missing and recorded
    once, by route (as views/objects does). The calls run side by side, by full id."""
    actor = actors.of_request(request, engine)
    outcome: dict[str, Exception | None] = {}
    allowed: dict[str, Found] = {}
    for ref, item in found.items():
        if not isinstance(item, Found):
            outcome[ref] = item
            continue
        if access.allowed(actor, needs, item.target):
            allowed[ref] = item
            continue
        outcome[ref] = denied(
            request,
            engine=engine,
            action=action,
            command=command_of([item.label]),
            team=access.owner(actor, item.target) or "",
            reason=refusal(needs),
            on=item,
        )

    def one(item: Found) -> Exception | None:
        try:
            call(item.id)
        except EngineError as error:
            return error
        return None

    with ThreadPoolExecutor(max_workers=BULK_WORKERS) as pool:
        errors = dict(zip(allowed, pool.map(one, allowed.values()), strict=True))
    for ref, error in errors.items():
        item = allowed[ref]
        audit.record(
            request,
            engine=engine,
            action=action,
            target=item.label,
            object_id=item.id,
            command=command_of([item.label]),
            error=error,
            team=access.owner(actor, item.target) or "",
        )
        outcome[ref] = error
    return {ref: outcome[ref] for ref in found}


def missing(
    request: HttpRequest, *, engine: Engine, action: str, ref: str, command: str, error
) -> None:
    """Records a change asked of an object that is not there as failed, under the text the
    user typed (of no team, so only superusers read it): still an attempted change."""
    audit.record(request, engine=engine, action=action, target=ref, command=command, error=error)


def hidden_among(found: Mapping[str, Found | EngineError]) -> bool:
    return any(isinstance(item, Hidden) for item in found.values())
