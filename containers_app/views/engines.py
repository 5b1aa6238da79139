"""The engines page: every engine the user may use with its health; for superusers, adding,
testing, granting and removing them; and the containers of every engine on one page."""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from containers_app import access, actors, all_engines, audit, cli, engines, health
from containers_app.engine import Engine, ssh
from containers_app.forms import EngineAddForm, EngineGrantForm, HostKeyForm
from containers_app.rows import container_rows
from containers_app.views.common import action_done, actor_of, can_view, render_list, requires
from containers_app.views.errors import bad_request

manages_engines = requires(access.MANAGE_ENGINES)


def _engine_rows(request: HttpRequest) -> list[dict]:
    usable = engines.usable_by(request.user)
    return [
        {
            "engine": engine,
            "health": now,
            "seen": health.seen(now),
            "grant": EngineGrantForm(
                initial={"teams": sorted(engine.teams), "every_team": engine.every_team}
            ),
            "remove_command": cli.engine_remove(engine.slug),
            "teams": ", ".join(sorted(engine.teams)),
        }
        for engine, now in zip(usable, health.of_every(usable), strict=True)
    ]


def _page(request: HttpRequest, form: EngineAddForm | None = None, status: int = 200):
    manages = access.allowed(actor_of(request), access.MANAGE_ENGINES)
    context = {
        "rows": _engine_rows(request),
        "manages": manages,
        "form": form or EngineAddForm(),
        "default_slug": settings.BERTH_DEFAULT_ENGINE,
        "default_timeout": settings.DOCKER_TIMEOUT,
    }
    return render_list(request, "engines/list.html", "engines/_rows.html", context, status)


@can_view
@require_GET
def engine_list(request: HttpRequest) -> HttpResponse:
    return _page(request)


@manages_engines
@require_POST
def engine_add(request: HttpRequest) -> HttpResponse:
    form = EngineAddForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    data = form.cleaned_data
    try:
        engine = engines.engine_add(
            slug=data["slug"],
            address=data["address"],
            name=data["name"],
            description=data["description"],
            given=form.credentials(),
            teams=list(data["teams"]),
            every_team=data["every_team"],
            cli_context=data["cli_context"],
            timeout=data["timeout"],
        )
    except engines.EngineRefused as error:  # taken meanwhile
        form.add_error("slug", str(error))
        return _page(request, form, status=400)
    audit.engine_change(
        user=request.user,
        slug=engine.slug,
        action="engine add",
        command=cli.engine_add(engine.slug, engine.base_url, engine.cli_context),
    )
    return action_done(
        request,
        message=f"Added engine {engine.slug}; test it to see whether it answers.",
        fallback=reverse("engines:list"),
    )


@manages_engines
@require_POST
def engine_host_key(request: HttpRequest) -> HttpResponse:
    """The fingerprint of the host key an SSH host shows now, for a person to compare with
    what the host itself says before it is pinned."""
    form = HostKeyForm(request.POST)
    if not form.is_valid():
        return bad_request(request, form)
    try:
        fingerprint = ssh.host_key_of(form.cleaned_data["address"])
    except OSError as error:
        reason = f"The host key could not be fetched: {error}"
        return render(request, "engines/_host_key.html", {"error": reason}, status=400)
    context = {"fingerprint": fingerprint, "address": form.cleaned_data["address"]}
    return render(request, "engines/_host_key.html", context)


@manages_engines
@require_POST
def engine_test(request: HttpRequest, slug: str) -> HttpResponse:
    engine = _engine(slug)
    now = health.check(engine)
    if now.state == health.DOWN:
        message, level = f"{engine.slug} is down: {now.reason}", 40
    else:
        message = f"{engine.slug} is {now.state}: Docker {now.version}, {now.round_trip_ms} ms"
        level = 25
    return action_done(request, message=message, level=level, fallback=reverse("engines:list"))


@manages_engines
@require_POST
def engine_grant(request: HttpRequest, slug: str) -> HttpResponse:
    engine = _engine(slug)
    form = EngineGrantForm(request.POST)
    if not form.is_valid():
        return bad_request(request, form)
    every_team = form.cleaned_data["every_team"]
    teams = sorted(team.slug for team in form.cleaned_data["teams"])
    engines.engine_grant(
        slug=engine.slug, teams=list(form.cleaned_data["teams"]), every_team=every_team
    )
    audit.engine_change(
        user=request.user,
        slug=engine.slug,
        action="engine grant",
        command=cli.engine_grant(slug, teams, every_team),
    )
    said = "every team" if every_team else ", ".join(teams) or "no team (superusers only)"
    return action_done(
        request, message=f"{slug} may be used by {said}.", fallback=reverse("engines:list")
    )


@manages_engines
@require_POST
def engine_remove(request: HttpRequest, slug: str) -> HttpResponse:
    engine = _engine(slug)
    try:
        engines.engine_remove(slug=engine.slug)
    except engines.EngineRefused as error:
        return action_done(request, message=str(error), level=40, fallback=reverse("engines:list"))
    audit.engine_change(
        user=request.user, slug=slug, action="engine remove", command=cli.engine_remove(slug)
    )
    return action_done(request, message=f"Removed engine {slug}.", fallback=reverse("engines:list"))


@can_view
@require_GET
def all_containers(request: HttpRequest) -> HttpResponse:
    """Every container of every engine the user may use, asked of all at once: an engine
    that fails or does not answer in time is a row saying why, never an error page."""
    sections = []
    for listed in all_engines.containers_of(engines.usable_by(request.user)):
        actor = actors.of_user(request.user, listed.engine)
        shown = access.visible(actor, access.CONTAINER, listed.containers)
        rows = container_rows(shown, actor)
        sections.append({"engine": listed.engine, "problem": listed.problem, "rows": rows})
    context = {"sections": sections, "command": cli.docker("ps", "-a")}
    return render(request, "engines/all_containers.html", context)


def _engine(slug: str) -> Engine:
    try:
        return engines.get(slug)
    except engines.NoSuchEngine:
        raise Http404("No such engine.") from None
