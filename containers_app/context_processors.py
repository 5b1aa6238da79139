"""Template context every page shares."""

import functools
import time

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from containers_app import access, audit, engines
from containers_app.views.common import actor_of, engine_for, engine_prefix


def engine(request: HttpRequest) -> dict:
    """The engine the page is about (its URL's, or the default one's for pages about none),
    and, for the switcher, the engines the user may use."""
    user = getattr(request, "user", None)
    match = getattr(request, "resolver_match", None)
    return {
        # Lazy: a page that names no engine (an error page for a signed-out user) asks none.
        "engine": SimpleLazyObject(lambda: _page_engine(request)),
        "usable_engines": functools.partial(_usable_engines, user),
        # Where the engine's pages and websockets are, for the scripts that build addresses.
        "engine_prefix": engine_prefix(request),
        # The page's resource (containers, images...), whichever engine's URL it has.
        "section": match.namespaces[-1] if match and match.namespaces else "",
        "can_change": user is not None and access.allowed(actor_of(request), access.CHANGE),
        # A callable, which the template calls only where it asks (the nav), so partials
        # cost no query: whether this user has an audit page (superusers, team admins).
        "can_audit": functools.partial(_can_audit, user),
    }


def _page_engine(request: HttpRequest):
    """The engine the page is about; on a page about none (teams, jobs), the default one, or
    the first the user may use when that is not theirs: where the menu's links lead."""
    if getattr(request, "on_engine_route", False) and getattr(request, "engine", None):
        return engine_for(request)
    return engines.home_of(getattr(request, "user", None)) or engine_for(request)


def _usable_engines(user) -> list:
    return engines.usable_by(user) if user is not None else []


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
