"""The one path of every change: access, the engine call, then its audit entry (with the
`docker` command line and the owning team), on success, failure and refusal."""

from collections.abc import Callable
from typing import TypeVar

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from containers_app import access, actors, audit
from containers_app.engine import Engine

T = TypeVar("T")

# Why a change is refused to someone who may see its object.
ROLE_REFUSED = {
    access.OPERATE: "Only the team's operators and admins may do this.",
    access.ADMINISTER: "Only the team's admins may do this.",
}
HOST_REFUSED = "Only a superuser may do this."


def refusal(needs: str) -> str:
    return ROLE_REFUSED.get(needs, HOST_REFUSED)


class Refused(Exception):
    """A change access refused, for a list of results (a bulk action) that names why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def denied(
    request: HttpRequest,
    *,
    engine: Engine,
    action: str,
    target: str,
    command: str,
    team: str,
    reason: str,
) -> Refused:
    """Records a refused change of an object the actor may see (so the entry may name it)."""
    refused = Refused(reason)
    audit.record(
        request,
        engine=engine,
        action=action,
        target=target,
        command=command,
        error=refused,
        team=team,
        denied=True,
    )
    return refused


def check(
    request: HttpRequest,
    *,
    engine: Engine,
    needs: str,
    on: access.Target,
    action: str,
    target: str,
    command: str = "",
) -> str:
    """Raises PermissionDenied (403) after recording the refusal if the request's actor may
    not do `needs` to `on`; else returns the owning team's slug ("" for none). Callers have
    already made sure the actor may see the object (a 404 otherwise), so the entry may name it."""
    actor = actors.of_request(request, engine)
    team = access.owner(actor, on) or ""
    if not access.allowed(actor, needs, on):
        refused = denied(
            request,
            engine=engine,
            action=action,
            target=target,
            command=command,
            team=team,
            reason=refusal(needs),
        )
        raise PermissionDenied(refused.reason)
    return team


def perform(
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
) -> T:
    """Checks that the request's actor may do `needs` to `on`, runs `call` (one engine call)
    and records it with its `docker` command line. Any failure is recorded, then raised again
    for the view or the error middleware to answer. `named`: the target from the call's
    result, for objects the engine names (a volume)."""
    team = check(
        request,
        engine=engine,
        needs=needs,
        on=on,
        action=action,
        target=target,
        command=command,
    )
    try:
        result = call()
    except Exception as error:
        # Not only EngineError: a change that failed any way must leave its trace.
        audit.record(
            request,
            engine=engine,
            action=action,
            target=target,
            command=command,
            error=error,
            team=team,
        )
        raise
    audit.record(
        request,
        engine=engine,
        action=action,
        target=named(result) if named else target,
        command=command,
        team=team,
    )
    return result
