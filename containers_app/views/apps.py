"""Compose applications, looked at: the list of every compose project on the user's engines,
one application's (or found project's) page, and a comparison of two of its revisions. What
changes them is in app_changes.py."""

import difflib

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from containers_app import (
    access,
    actors,
    all_engines,
    applications,
    cli,
    compose_checks,
    engines,
    masking,
)
from containers_app.engine import NotFound
from containers_app.engine import containers as engine_containers
from containers_app.forms import ApplicationEditForm
from containers_app.models import Application, Team
from containers_app.rows import container_rows
from containers_app.views.common import (
    actor_of,
    can_view,
    changes_its_object,
    engine_for,
    typed,
)
from containers_app.views.objects import creatable_teams, hidden_attempt

NO_SUCH_APPLICATION = "No such application or compose project on this engine."


# --- The list and a new application ---------------------------------------------------------


@can_view
@require_GET
def app_list(request: HttpRequest) -> HttpResponse:
    """Every compose project on the engines the user may use, from one container list per
    engine (asked at once), with Berth's applications that have no container yet."""
    usable = engines.usable_by(request.user)
    apps = list(Application.objects.filter(engine__in=[e.slug for e in usable]))
    rows, problems = [], []
    for listed in all_engines.containers_of(usable):
        if listed.problem:
            problems.append((listed.engine, listed.problem))
        actor = actors.of_user(request.user, listed.engine)
        found = applications.projects_on(
            listed.engine, listed.containers, apps, problem=listed.problem
        )
        for project in applications.visible_projects(actor, found):
            rows.append({"project": project, "team": applications.owner_of(actor, project)})
    context = {"rows": rows, "problems": problems, "may_create": _may_create(request)}
    return render(request, "apps/list.html", context)


def _may_create(request: HttpRequest) -> bool:
    return bool(creatable_teams(request)["teams"]) or request.user.is_superuser


# --- One application ------------------------------------------------------------------------


def project_of(request: HttpRequest, name: str) -> applications.Project:
    """The application or compose project `name` on the request's engine, if the actor may
    see it; else a 404, as for one that does not exist (an attempted change recorded)."""
    engine = engine_for(request)
    app = Application.objects.filter(engine=engine.slug, name=name).first()
    containers = engine_containers.container_list(
        engine=engine, all=True, label=f"{access.PROJECT_LABEL}={name}"
    )
    found = applications.projects_on(engine, containers, [app] if app else [])
    shown = applications.visible_projects(actor_of(request), found)
    if not shown:
        if found:
            hidden_attempt(request, engine)
        raise NotFound(NO_SUCH_APPLICATION)
    return shown[0]


def application_of(project: applications.Project) -> Application:
    """The Berth application of `project` (a found project is not one: it is adopted
    first)."""
    if project.app is None:
        raise NotFound(
            f"{project.name} is a compose project Berth found, not one of its applications: "
            "a superuser may adopt it."
        )
    return project.app


@changes_its_object
@require_GET
def app_detail(request: HttpRequest, name: str) -> HttpResponse:
    """The application (or found project): its services and containers, which revision
    each service runs, its files (the .env masked but for its admins), its revisions."""
    project = project_of(request, name)
    actor = actor_of(request)
    app = project.app
    context = {"project": project, "app": app, "team": applications.owner_of(actor, project)}
    if app is None:
        context |= _found_context(request, project, actor)
        services, running = project.services, {}
    else:
        revisions = list(app.revisions.all()[:50])
        context |= _application_context(request, app, actor, revisions)
        services = applications.services_of(app, project)
        running = applications.revision_services(project, revisions)
    rows = {row["id"]: row for row in container_rows(project.containers, actor)}
    context["service_rows"] = [
        {
            "name": s,
            "containers": [rows[c.id] for c in project.of_service(s)],
            "revision": running.get(s),
            "redeploy": typed(request, cli.compose(name, *applications.redeploy_args(s))),
        }
        for s in services
    ]
    return render(request, "apps/detail.html", context)


def _application_context(request: HttpRequest, app: Application, actor, revisions) -> dict:
    """What an application's page offers: the actions the actor may take (with their
    command lines), its revisions, and its files (the .env masked but for its admins)."""
    may = {
        a: access.allowed(actor, n, applications.target(app)) for a, n in applications.NEEDS.items()
    }
    env_text, env_problem = _env_or_why(app)
    return {
        "may": may,
        "revisions": revisions,
        "env": env_text if may["edit"] else masking.masked_env_text(env_text),
        "env_problem": env_problem,
        "edit_form": ApplicationEditForm(initial={"compose": app.compose, "env": env_text})
        if may["edit"]
        else None,
        "commands": {
            a: typed(request, cli.compose(app.name, *c)) for a, c in applications.COMMANDS.items()
        },
    }


def _found_context(request: HttpRequest, project: applications.Project, actor) -> dict:
    """What a found project's page offers: its containers' actions by label to those who
    may operate one of them, adopting it to superusers."""
    names = [c.name for c in project.containers]
    return {
        "may_operate": any(
            access.allowed(actor, access.OPERATE, access.target_of(access.CONTAINER, c))
            for c in project.containers
        ),
        "external_commands": [
            (action, typed(request, cli.container_action(verb, names)))
            for action, verb in (("start", "start"), ("stop", "stop"), ("restart", "restart"))
        ]
        + [("down", typed(request, cli.container_action("force_remove", names)))],
        "may_adopt": access.allowed(actor, access.ASSIGN),
        "teams": list(Team.objects.values_list("slug", flat=True)),
        "default_engine": settings.BERTH_DEFAULT_ENGINE,
    }


@changes_its_object
@require_GET
def app_diff(request: HttpRequest, name: str) -> HttpResponse:
    """The change of the YAML (and of the .env's keys, for those who may see its values:
    the values too) between two revisions (?a=&b=; b may be "current", the edited files)."""
    app = application_of(project_of(request, name))
    actor = actor_of(request)
    see_env = access.allowed(actor, access.ADMINISTER, applications.target(app))

    def files(which: str) -> tuple[str, str, str]:
        if which == "current":
            return "current", app.compose, _env_or_why(app)[0]
        found = app.revisions.filter(number=int(which) if which.isdigit() else 0).first()
        if found is None:
            raise NotFound(f"{app.name} has no revision {which}.")
        return f"revision {found.number}", found.compose, _env_or_why(found)[0]

    (a_name, a_yaml, a_env), (b_name, b_yaml, b_env) = (
        files(request.GET.get("a", "")),
        files(request.GET.get("b", "current")),
    )
    if not see_env:
        a_env, b_env = masking.masked_env_text(a_env), masking.masked_env_text(b_env)
    context = {
        "app": app,
        "a": a_name,
        "b": b_name,
        "yaml_diff": _diff(a_yaml, b_yaml, a_name, b_name),
        "env_diff": _diff(a_env, b_env, a_name, b_name),
    }
    return render(request, "apps/diff.html", context)


def _env_or_why(source) -> tuple[str, str]:
    """The .env text of an application or revision, and why it cannot be shown ("" if it
    can)."""
    try:
        return applications.env_of(source), ""
    except compose_checks.Invalid as error:
        return "", error.reason


def _diff(a: str, b: str, a_name: str, b_name: str) -> list[str]:
    return list(difflib.unified_diff(a.splitlines(), b.splitlines(), a_name, b_name, lineterm=""))
