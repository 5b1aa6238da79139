"""The one path of every change: the engine call, then its audit entry, on success and failure."""

from collections.abc import Callable
from typing import TypeVar

from django.http import HttpRequest

from containers_app import audit
from containers_app.engine import Engine

T = TypeVar("T")


def perform(
    request: HttpRequest,
    *,
    engine: Engine,
    action: str,
    target: str,
    command: str,
    call: Callable[[], T],
    named: Callable[[T], str] | None = None,
) -> T:
    """Runs `call` (one engine call) and records it with its `docker` command line. Any
    failure is recorded, then raised again for the view or the error middleware to answer.
    `named`: the target from the call's result, for objects the engine names (a volume)."""
    try:
        result = call()
    except Exception as error:
        # Not only EngineError: a change that failed any way must leave its trace.
        audit.record(
            request, engine=engine, action=action, target=target, command=command, error=error
        )
        raise
    audit.record(
        request,
        engine=engine,
        action=action,
        target=named(result) if named else target,
        command=command,
    )
    return result
