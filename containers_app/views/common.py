"""What every resource's views share: access rules and the middleware that enforces them,
htmx partials and action replies."""

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme

from containers_app import access, actors, audit, cli, engines
from containers_app.engine import Engine

ENGINE_KWARG = engines.ENGINE_KWARG
# The namespace of today's addresses (/containers/...), which are the default engine's.
DEFAULT_ENGINE_NAMESPACE = "default-engine:"
# A name or id as the engine accepts it in a URL; anything else is a 404 before any call.
REF = r"(?P<ref>[A-Za-z0-9][A-Za-z0-9_.-]{0,254})"


def engine_for(request: HttpRequest) -> Engine:
    """The engine a request is about, as AccessMiddleware took it from the URL (and checked
    that the user may use it); pages about no engine in particular (teams, audit, jobs)
    mean the default one."""
    engine = getattr(request, "engine", None)
    if engine is None:
        engine = request.engine = engines.default()
    return engine


def engine_url(request: HttpRequest, name: str, *args) -> str:
    """The address of page `name` (containers:detail...) on the request's engine."""
    return engine_address(request, engine_for(request), name, *args)


def engine_address(request: HttpRequest | None, engine: Engine, name: str, *args) -> str:
    """Page `name` of `engine`: at today's address (the default engine's, without
    /engines/<slug>/) when the request came that way, so such a page links to its own kind."""
    if request is not None and getattr(request, "on_default_address", False):
        return reverse(DEFAULT_ENGINE_NAMESPACE + name, args=args)
    return reverse(name, args=[engine.slug, *args])


def about_engine(request: HttpRequest, engine: Engine) -> None:
    """The request is about `engine` from here on (a form chose it, on a page about no
    engine): its actor is loaded again with the roles and projects of that engine."""
    request.engine, request.on_engine_route, request.on_default_address = engine, True, False
    request._berth_actor = None


def page_engine(request: HttpRequest) -> Engine | None:
    """The engine a page is about; None for a page about none (teams, jobs, the audit)."""
    return engine_for(request) if getattr(request, "on_engine_route", False) else None


def typed(request: HttpRequest, command: str) -> str:
    """A `docker` command line as its reader would type it against the engine of the page
    (`docker -H ssh://ops@web-1 stop web`, or `--context`); on a page about no engine, as
    it was made."""
    return typed_on(page_engine(request), command)


def typed_on(engine: Engine | None, command: str) -> str:
    if engine is None:
        return command
    return cli.on_engine(command, engine, default=settings.BERTH_DEFAULT_ENGINE)


def docker_on(engine: Engine | None) -> str:
    """The `docker` of a line typed against `engine` (see typed)."""
    if engine is None:
        return "docker"
    return cli.docker_on(engine, default=settings.BERTH_DEFAULT_ENGINE)


def actor_of(request: HttpRequest) -> access.Actor:
    """Who asks (access.Actor), loaded once per request: on an engine's page, with the roles
    of their teams that may use it; on a page about no engine (teams, jobs, registry logins,
    screens), with every role."""
    engine = engine_for(request) if getattr(request, "on_engine_route", False) else None
    return actors.of_request(request, engine)


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def requires(action: str) -> Callable[[Callable], Callable]:
    """Declares what a view needs (access.VIEW, access.CHANGE or PUBLIC); AccessMiddleware
    enforces it before the view runs. A view that declares nothing is refused to everyone."""

    def declare(view: Callable) -> Callable:
        view.access_rule = action
        return view

    return declare


PUBLIC = "public"
public = requires(PUBLIC)
can_view = requires(access.VIEW)
can_change = requires(access.CHANGE)
# A change to one object, which only its team's role decides: the route lets every signed-in
# user through and the view refuses through actions.check, so the refusal is recorded with the
# object's team and its admins read it; an object the user may not see is a 404 first.
changes_its_object = requires(access.VIEW)
CHANGE_REFUSED = "Your account may look but not change anything."


def rule_of(view: Callable, method: str) -> str | None:
    """The access a view declares for a request method, or None (refused to everyone)."""
    rule = getattr(view, "access_rule", None)
    if isinstance(rule, dict):
        rule = rule.get("GET" if method == "HEAD" else method)
    return rule


class AccessMiddleware:
    """Default deny: every view runs only if it declares what it needs and the user has it.
    Django's admin is the one exception: it makes the same check itself (active staff)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Callable, args, kwargs):
        if request.resolver_match and request.resolver_match.app_name == "admin":
            return None
        # The engine's slug is the URL's (urls.py; "" for today's URLs without one: the
        # default engine), taken out of what the view gets: views ask engine_for(request).
        slug = kwargs.pop(ENGINE_KWARG, None)
        rule = rule_of(view, request.method)
        if rule == PUBLIC:
            return None
        if rule is None:
            raise refused(request, "Nobody may use this address.")
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if slug is not None:
            request.on_engine_route = True
            request.on_default_address = not slug
            request.engine = engines.usable(request.user, slug)
            if request.engine is None:
                return engine_not_usable(request)
        if not access.allowed(actor_of(request), rule):
            raise refused(request, CHANGE_REFUSED)
        return None


def engine_prefix(request: HttpRequest) -> str:
    """Where the engine's pages are: "/" at today's addresses (the default engine's) and on
    pages about no engine, "/engines/<slug>/" under an engine's. Its websockets are under
    "/ws" followed by the same."""
    if getattr(request, "on_default_address", True):
        return "/"
    return f"/engines/{engine_for(request).slug}/"


def socket_path(request: HttpRequest, path: str) -> str:
    """The websocket path of `path` (containers/<id>/logs/) on the request's engine."""
    return f"/ws{engine_prefix(request)}{path}"


def route_name(request: HttpRequest) -> str:
    """The route's name (containers:action), whichever engine's address it was asked at."""
    match = request.resolver_match
    name = (match.view_name if match else "").removeprefix(DEFAULT_ENGINE_NAMESPACE)
    return name or "unnamed route"


def engine_not_usable(request: HttpRequest) -> HttpResponse:
    """The 404 of an engine that does not exist or that the user may not use (the same
    page for both), with the engines they may use."""
    context = {
        "status": 404,
        "title": "No such engine",
        "reason": "This engine does not exist, or your teams may not use it.",
        "engine_choices": engines.usable_by(request.user),
    }
    return render(request, "error.html", context, status=404)


def refused(request: HttpRequest, reason: str) -> PermissionDenied:
    """The 403 to raise for a request access refuses; for a signed-in user, the attempt is
    recorded first (audit.denied), as the route's name and method only: its URL's
    parameters may name an object the user may not know about. Signed-out users are sent
    to sign in, or refused, without a trace: anyone on the network could fill the trail."""
    if request.user.is_authenticated and request.user.is_active:
        route = route_name(request)
        audit.denied(
            user=request.user,
            engine=engine_for(request),
            action=f"{route} {request.method}",
            reason=reason,
        )
    return PermissionDenied(reason)


def render_list(
    request: HttpRequest, page: str, rows: str, context: dict, status: int = 200
) -> HttpResponse:
    """The whole page, or only its rows when htmx asks (a filter, a sort)."""
    rows_only = is_htmx(request) and request.headers.get("HX-Target") == "rows"
    context = dict(context, rows_only=rows_only)
    response = render(request, rows if rows_only else page, context, status=status)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def safe_next(request: HttpRequest, fallback: str) -> str:
    """Where a plain form goes after an action: its `next`, if it is on this site."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def action_done(
    request: HttpRequest,
    *,
    message: str,
    fallback: str,
    level: int = messages.SUCCESS,
    partial: str = "_flash.html",
    context: dict | None = None,
) -> HttpResponse:
    """The reply to a POST. htmx gets `partial` (the redrawn row; by default nothing, so a
    removed row disappears) with the message swapped in out of band; a plain form, a redirect."""
    if not is_htmx(request):
        messages.add_message(request, level, message)
        return redirect(safe_next(request, fallback))
    context = dict(context or {}, flash=message, flash_level=messages.DEFAULT_TAGS[level])
    return render(request, partial, context)


def sort_queries(request: HttpRequest, columns) -> dict[str, str]:
    """Query strings for sortable column headers: a second click reverses the order."""
    current, desc = request.GET.get("sort", ""), request.GET.get("desc", "")
    queries = {}
    for column in columns:
        params = request.GET.copy()
        params["sort"] = column
        params.pop("desc", None)
        if column == current and not desc:
            params["desc"] = "1"
        queries[column] = params.urlencode()
    return queries


def by_method(*, get: Callable, post: Callable) -> Callable:
    """One URL for a list (GET) and for creating in it (POST), so no name is shadowed by a
    `create/` path. Each method keeps the access its own view declares."""

    def view(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method == "POST":
            return post(request, *args, **kwargs)
        return get(request, *args, **kwargs)

    view.access_rule = {"GET": rule_of(get, "GET"), "POST": rule_of(post, "POST")}
    return view
