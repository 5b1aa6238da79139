"""Wall screens: their management page (superusers, and team admins for their teams) and the
two addresses a wall itself uses, without anyone signed in: its secret link, which is swapped
for a cookie and sent on to /screen/, and /screen/, the wall.

The link and the wall are public routes (AccessMiddleware lets them through): each checks
its token or cookie itself, and neither gives anything but the read-only wall. Their every
response says `Referrer-Policy: no-referrer`, and the link's responses are kept out of
Django's request log, so the token is not left in a Referer or a log line.
"""

import functools
from collections.abc import Callable

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from containers_app import actors, all_engines, engines, screens, tiles
from containers_app.forms import EVERY_TEAM, ScreenForm
from containers_app.models import Screen, Team
from containers_app.views.common import actor_of, can_view, public, refused
from containers_app.views.objects import SAFE_METHODS

MANAGERS_ONLY = "Only superusers and team admins may manage wall screens."
NO_SUCH_SCREEN = "There is no such screen, or it is not one of your teams'."
NOT_YOURS = "not a screen of a team this user is an admin of"


# --- the management page --------------------------------------------------------------------


def _managed_or_refused(request: HttpRequest) -> tuple[list[str], bool]:
    """The teams whose screens the user manages, and whether the whole host's too; a 403
    (recorded as denied) for someone who manages none."""
    teams, every = screens.managed_teams(actor_of(request))
    if not teams and not every:
        raise refused(request, MANAGERS_ONLY)
    return teams, every


def _link(request: HttpRequest, token: str) -> str:
    return request.build_absolute_uri(reverse("screens:open", args=[token]))


def _secret(response: HttpResponse) -> HttpResponse:
    """A response that shows a link once: kept by no cache, named in no Referer."""
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _page(
    request: HttpRequest,
    form: ScreenForm,
    *,
    status: int = 200,
    link: str = "",
    linked: Screen | None = None,
) -> HttpResponse:
    rows = [
        {
            "id": s.pk,
            "name": s.name,
            "team": screens.team_of(s),
            "project": s.project,
            "engines": screens.engine_slugs(s),
            "logs": s.show_logs,
            "created": s.created,
            "created_by": s.created_by.get_username() if s.created_by else "(shell)",
            "revoked": s.revoked,
            "rotate_command": screens.command_rotate(s),
            "revoke_command": screens.command_revoke(s),
        }
        for s in screens.managed_screens(actor_of(request))
    ]
    context = {
        "screens": rows,
        "form": form,
        "link": link,
        "linked": linked,
        "linked_scope": screens.describe(linked) if linked else "",
        "command": screens.command_list(),
        "create_command": screens.command_create("NAME", "TEAM"),
    }
    response = render(request, "screens/list.html", context, status=status)
    return _secret(response) if link else response


def _form(request: HttpRequest, data=None) -> ScreenForm:
    teams, every = _managed_or_refused(request)
    return ScreenForm(data, teams=teams, every_team=every, engines=engines.usable_by(request.user))


@can_view
@require_GET
def screen_list(request: HttpRequest) -> HttpResponse:
    return _page(request, _form(request))


@can_view
@require_POST
def screen_create(request: HttpRequest) -> HttpResponse:
    form = _form(request, request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    slug = form.cleaned_data["team"]
    team = Team.objects.filter(slug=slug).first() if slug != EVERY_TEAM else None
    if slug != EVERY_TEAM and team is None:  # removed since the form was drawn
        form.add_error("team", "There is no such team any more.")
        return _page(request, form, status=400)
    try:
        screen, token = screens.screen_create(
            by=request.user,
            name=form.cleaned_data["name"],
            team=team,
            on=form.cleaned_data["engines"],
            project=form.cleaned_data["project"],
            show_logs=form.cleaned_data["show_logs"],
        )
    except engines.NoSuchEngine as gone:  # removed since the form was drawn: nothing made
        form.add_error("engines", f"There is no engine {gone} any more.")
        return _page(request, form, status=400)
    return _page(request, _form(request), status=201, link=_link(request, token), linked=screen)


def _managed_screen(request: HttpRequest, screen_id: int, *, action: str, command) -> Screen:
    """The screen, if the user may manage it. A screen of another team (or of the whole
    host, to a team admin) is answered 404, as one that does not exist, and the attempt is
    recorded as denied under that screen's team."""
    _managed_or_refused(request)
    screen = Screen.objects.select_related("team").filter(pk=screen_id).first()
    if screen is None:
        raise Http404(NO_SUCH_SCREEN)
    if not screens.may_manage(actor_of(request), screen):
        screens.refused(
            request.user, action=action, screen=screen, command=command(screen), reason=NOT_YOURS
        )
        raise Http404(NO_SUCH_SCREEN)
    return screen


@can_view
@require_POST
def screen_rotate(request: HttpRequest, screen_id: int) -> HttpResponse:
    screen = _managed_screen(
        request, screen_id, action="screen rotate", command=screens.command_rotate
    )
    try:
        token = screens.screen_rotate(by=request.user, screen=screen)
    except screens.ScreenRevoked as error:
        messages.error(request, str(error))
        return redirect("screens:list")
    return _page(request, _form(request), link=_link(request, token), linked=screen)


@can_view
@require_POST
def screen_revoke(request: HttpRequest, screen_id: int) -> HttpResponse:
    screen = _managed_screen(
        request, screen_id, action="screen revoke", command=screens.command_revoke
    )
    if screens.screen_revoke(by=request.user, screen=screen):
        messages.success(
            request,
            f"Revoked screen {screen.name}: its link no longer opens it and its open walls "
            f"have closed. {screens.command_revoke(screen)}",
        )
    else:
        messages.info(request, f"Screen {screen.name} was revoked already.")
    return redirect("screens:list")


# --- the wall's own addresses ---------------------------------------------------------------


def _wall_response(view: Callable) -> Callable:
    """Every response of a wall's address: GET (and HEAD) only, no Referer to another site,
    stored by no cache; and not in Django's request log, whose 4xx lines name the path (for
    the link, the token)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method not in SAFE_METHODS:
            response = HttpResponseNotAllowed(SAFE_METHODS)
        else:
            response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "no-referrer"
        response["Cache-Control"] = "no-store"
        # Django logs a 4xx with its path unless the response says it was logged already.
        response._has_been_logged = True
        return response

    return wrapped


def _not_valid(request: HttpRequest, status: int = 404) -> HttpResponse:
    return render(request, "screens/not_valid.html", status=status)


@public
@_wall_response
def screen_open(request: HttpRequest, token: str) -> HttpResponse:
    """The secret link: swaps its token for the screen's cookie and sends the browser on to
    an address without the token."""
    screen = screens.screen_for_token(token)
    if screen is None:
        return _not_valid(request)
    response = redirect("screen")
    screens.set_cookie(response, request, screen)
    return response


@public
@_wall_response
def screen_wall(request: HttpRequest) -> HttpResponse:
    """The wall: a tile per container the screen may see, kept live over ws/screen/."""
    cookie = request.COOKIES.get(screens.COOKIE_NAME, "")
    screen = screens.screen_for_cookie(cookie)
    if screen is None:
        if not cookie and request.headers.get("Sec-Fetch-Site") == "cross-site":
            # The link was opened from another site (a chat, a mail): browsers hold a
            # SameSite=Strict cookie back from every request of that navigation, this one
            # included. Loaded again from this page, it goes along.
            return render(request, "screens/follow.html")
        return _not_valid(request)
    shown = screens.engines_of(screen)
    # Who the screen is on each engine, read here: the engines are asked from other threads.
    actor_on = {engine.slug: actors.of_screen(screen, engine) for engine in shown}
    found, down = [], []
    for engine, board, problem in all_engines.each(
        shown, lambda engine: tiles.board(engine, actor_on[engine.slug])
    ):
        if problem:
            down.append({"slug": engine.slug, "title": engine.title, "reason": problem})
        else:
            found += board
    several = len(shown) > 1
    groups = tiles.grouped(found, {e.slug: e.title for e in shown} if several else None)
    context = {
        "screen": screen,
        "scope": screens.describe(screen),
        "groups": groups,
        "count": len(found),
        "problems": sum(1 for t in found if t["problem"]),
        "engines": [
            {"slug": e.slug, "title": e.title, "down": any(d["slug"] == e.slug for d in down)}
            for e in shown
        ]
        if several
        else [],
        "down": down,
        "several": several,
        "no_engine": not shown,
        "spark_points": tiles.SPARK_POINTS,
    }
    # Every engine it shows is unavailable: the wall has nothing current to show.
    status = 503 if shown and len(down) == len(shown) else 200
    response = render(request, "screens/wall.html", context, status=status)
    screens.set_cookie(response, request, screen)
    return response
