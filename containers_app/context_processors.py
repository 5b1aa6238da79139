"""Template context every page shares."""

import functools
import time

from django.http import HttpRequest

from containers_app import access, audit
from containers_app.engine import default_engine
from containers_app.views.common import actor_of


def engine(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    return {
        "engine": default_engine(),
        "can_change": user is not None and access.allowed(actor_of(request), access.CHANGE),
        # A callable, which the template calls only where it asks (the nav), so partials
        # cost no query: whether this user has an audit page (superusers, team admins).
        "can_audit": functools.partial(_can_audit, user),
    }


def _can_audit(user) -> bool:
    return user is not None and audit.scope_of(user) is not None


class RequestStartMiddleware:
    """Notes when a request began, before its view asked the engine for anything."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        request.started_ns = time.time_ns()
        return self.get_response(request)


def live_since(request: HttpRequest) -> dict:
    """Where a page's live updates start (Unix nanoseconds): when its request began, so a
    change made while the page was put together still reaches it."""
    return {"live_since": getattr(request, "started_ns", None) or time.time_ns()}
