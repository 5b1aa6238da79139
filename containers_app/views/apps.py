"""Compose applications: the list of every compose project on the user's engines, a new
application, and one application's page with its actions, each a job of `docker compose`."""

import difflib

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from containers_app import (
    access,
    actions,
    actors,
    all_engines,
    applications,
    cli,
    compose_files,
    engines,
    masking,
)
from containers_app.engine import NotFound
from containers_app.engine import containers as engine_containers
from containers_app.forms import NO_TEAM, ApplicationDownForm, ApplicationEditForm, ApplicationForm
from containers_app.models import Application, Revision, Team
from containers_app.views.common import (
    actor_of,
    can_change,
    can_view,
    changes_its_object,
    engine_for,
    typed,
)
from containers_app.views.objects import creatable_teams, hidden_attempt

NO_SUCH_APPLICATION = "No such application or compose project on this engine."
ACTIONS = ("deploy", "pull", "stop", "start", "restart", "down")


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
        found = applications.projects_on(listed.engine, listed.containers, apps)
        for project in applications.visible_projects(actor, found):
            rows.append({"project": project, "team": applications.owner_of(actor, project)})
    context = {"rows": rows, "problems": problems, "may_create": _may_create(request)}
    return render(request, "apps/list.html", context)


def _may_create(request: HttpRequest) -> bool:
    return bool(creatable_teams(request)["teams"]) or request.user.is_superuser


def _new_form(request: HttpRequest, data=None) -> ApplicationForm:
    offered = creatable_teams(request)
    return ApplicationForm(
        data,
        teams=offered["teams"],
        no_team=offered["no_team"],
        engines=engines.usable_by(request.user),
    )


def _new_page(request, form, *, status=200, refusals=(), invalid="") -> HttpResponse:
    context = {"form": form, "refusals": refusals, "invalid": invalid}
    return render(request, "apps/new.html", context, status=status)


@can_change
@require_http_methods(["GET", "POST"])
def app_new(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST: checks the files (compose's reading, then every service as a run
    is checked), records the application for its team and deploys it as a job."""
    form = _new_form(request, request.POST if request.method == "POST" else None)
    if request.method == "GET":
        return _new_page(request, form)
    if not form.is_valid():
        return _new_page(request, form, status=400)
    data, engine = form.cleaned_data, form.engine
    request.engine = engine  # what the audit entries and the actor are about
    name, team = data["name"], data.get("team") or ""
    command = cli.compose(name, *applications.COMMANDS["deploy"])
    actions.check(
        request,
        engine=engine,
        needs=access.ADMINISTER,
        on=applications.target(team=team or None),
        action="app deploy",
        target=name,
        command=command,
    )
    if taken := applications.name_refusal(engine, name):
        form.add_error("name", taken)
        return _new_page(request, form, status=400)
    actor = actors.of_user(request.user, engine)
    try:
        applications.check_files(
            actor, engine, name=name, team=team, compose_text=data["compose"], env_text=data["env"]
        )
    except applications.Invalid as error:
        return _new_page(request, form, status=400, invalid=error.reason)
    except applications.Refused as refused:
        actions.denied(
            request,
            engine=engine,
            action="app deploy",
            command=command,
            team=team,
            reason=" ".join(refused.reasons),
            target=name,
        )
        return _new_page(request, form, status=403, refusals=refused.reasons)
    try:
        app = applications.application_create(
            by=request.user,
            engine=engine,
            name=name,
            team=Team.objects.filter(slug=team).first() if team != NO_TEAM else None,
            compose_text=data["compose"],
            env_text=data["env"],
        )
    except applications.Invalid as error:
        form.add_error("name", error.reason)
        return _new_page(request, form, status=400)
    return _deploy(request, app, action=Revision.DEPLOY)


# --- One application ------------------------------------------------------------------------


def _project(request: HttpRequest, name: str) -> applications.Project:
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


def _app(request: HttpRequest, name: str) -> Application:
    """The Berth application `name` on the request's engine (a found project is not one:
    it is adopted first)."""
    project = _project(request, name)
    if project.app is None:
        raise NotFound(f"{name} is a compose project Berth found, not one of its applications.")
    return project.app


def _checked(request: HttpRequest, app: Application, action: str, command: str) -> str:
    return actions.check(
        request,
        engine=engine_for(request),
        needs=applications.NEEDS[action],
        on=applications.target(app),
        action=f"app {action}",
        target=app.name,
        command=command,
    )


@changes_its_object
@require_GET
def app_detail(request: HttpRequest, name: str) -> HttpResponse:
    """The application (or found project): its services and containers, which revision
    each service runs, its files (the .env masked but for its admins), its revisions."""
    project = _project(request, name)
    actor = actor_of(request)
    app = project.app
    context = {"project": project, "app": app, "team": applications.owner_of(actor, project)}
    services = _services(app, project) if app else project.services
    running: dict = {}
    if app is not None:
        may = {
            a: access.allowed(actor, n, applications.target(app))
            for a, n in applications.NEEDS.items()
        }
        revisions = list(app.revisions.all()[:50])
        running = applications.revision_services(project, revisions)
        env_text = applications.env_of(app)
        context |= {
            "may": may,
            "revisions": revisions,
            "env": env_text if may["edit"] else masking.masked_env_text(env_text),
            "edit_form": ApplicationEditForm(initial={"compose": app.compose, "env": env_text})
            if may["edit"]
            else None,
            "commands": {
                a: typed(request, cli.compose(app.name, *c))
                for a, c in applications.COMMANDS.items()
            },
        }
    context["service_rows"] = [
        {
            "name": s,
            "containers": project.of_service(s),
            "revision": running.get(s),
            "redeploy": typed(request, cli.compose(name, *applications.redeploy_args(s))),
        }
        for s in services
    ]
    return render(request, "apps/detail.html", context)


def _services(app: Application, project: applications.Project) -> list[str]:
    """The services of its YAML (as written) and of its containers."""
    try:
        written = list(compose_files.parse(app.compose).get("services") or {})
    except compose_files.Unreadable:
        written = []
    return sorted(set(written) | set(project.services))


def _deploy(
    request: HttpRequest,
    app: Application,
    *,
    action: str,
    service: str = "",
    rollback_of: Revision | None = None,
) -> HttpResponse:
    """Checks the files a deploy takes, records a revision and starts its job; answers with
    the job's page."""
    engine = engine_for(request)
    team = app.team.slug if app.team else ""
    source = rollback_of or app
    args = applications.COMMANDS["deploy"]
    if service:
        args = applications.redeploy_args(service)
    command = cli.compose(app.name, *args)
    _checked(request, app, action, command)
    own = engine_containers.container_list(
        engine=engine, all=True, label=f"{access.PROJECT_LABEL}={app.name}"
    )
    try:
        applications.check_files(
            actor_of(request),
            engine,
            name=app.name,
            team=team,
            compose_text=source.compose,
            env_text=applications.env_of(source),
            project_directory=app.project_directory,
            own_containers=len(own),
        )
    except applications.Invalid as error:
        return _refused_page(request, app, [error.reason], status=400)
    except applications.Refused as refused:
        actions.denied(
            request,
            engine=engine,
            action=f"app {action}",
            command=command,
            team=team,
            reason=" ".join(refused.reasons),
            target=app.name,
        )
        return _refused_page(request, app, refused.reasons, status=403)
    revision = applications.revision_start(
        app=app, by=request.user, action=action, service=service, rollback_of=rollback_of
    )
    job = actions.perform_job(
        request,
        on=applications.target(app),
        engine=engine,
        needs=applications.NEEDS[action],
        kind=f"app {action}",
        target=app.name,
        command=command,
        work=applications.deploy_work(revision, engine, args),
    )
    revision.job_id = job.pk
    revision.save(update_fields=["job"])
    return redirect("jobs:detail", job_id=job.pk)


def _refused_page(request, app, reasons, *, status) -> HttpResponse:
    context = {"app": app, "reasons": reasons, "status": status}
    return render(request, "apps/refused.html", context, status=status)


@changes_its_object
@require_POST
def app_action(request: HttpRequest, name: str, action: str) -> HttpResponse:
    """deploy, pull, stop, start, restart or down (with --volumes if asked), as a job."""
    app = _app(request, name)
    if action == "deploy":
        return _deploy(request, app, action=Revision.DEPLOY)
    args = applications.COMMANDS[action]
    down = ApplicationDownForm(request.POST)
    if action == "down" and down.is_valid() and down.cleaned_data["volumes"]:
        args = (*args, "--volumes")
    command = cli.compose(app.name, *args)
    _checked(request, app, action, command)
    job = actions.perform_job(
        request,
        on=applications.target(app),
        engine=engine_for(request),
        needs=applications.NEEDS[action],
        kind=f"app {action}",
        target=app.name,
        command=command,
        work=applications.action_work(app, engine_for(request), args),
        key=("app", engine_for(request).slug, app.name, action),
    )
    return redirect("jobs:detail", job_id=job.pk)


@changes_its_object
@require_POST
def app_redeploy_service(request: HttpRequest, name: str, service: str) -> HttpResponse:
    """Makes one service's containers again from the application's current files; the
    other services' containers are left as they are (--no-deps)."""
    app = _app(request, name)
    if service not in _services(app, _project(request, name)):
        raise NotFound(f"{app.name} has no service {service}.")
    return _deploy(request, app, action=Revision.REDEPLOY, service=service)


@changes_its_object
@require_POST
def app_edit(request: HttpRequest, name: str) -> HttpResponse:
    """New YAML and .env, taken by the next deploy; nothing running changes now. Checked
    as a deploy would be, so that what is kept can be deployed."""
    app = _app(request, name)
    command = f"edit {app.name}'s compose.yaml and .env (taken by the next deploy)"
    team = _checked(request, app, "edit", command)
    form = ApplicationEditForm(request.POST)
    if not form.is_valid():
        return _refused_page(
            request, app, [e for es in form.errors.values() for e in es], status=400
        )
    engine = engine_for(request)
    try:
        applications.check_files(
            actor_of(request),
            engine,
            name=app.name,
            team=team,
            compose_text=form.cleaned_data["compose"],
            env_text=form.cleaned_data["env"],
            project_directory=app.project_directory,
            own_containers=len(_project(request, name).containers),
        )
    except applications.Invalid as error:
        return _refused_page(request, app, [error.reason], status=400)
    except applications.Refused as refused:
        actions.denied(
            request,
            engine=engine,
            action="app edit",
            command=command,
            team=team,
            reason=" ".join(refused.reasons),
            target=app.name,
        )
        return _refused_page(request, app, refused.reasons, status=403)
    actions.perform_new(
        request,
        engine=engine,
        needs=access.ADMINISTER,
        on=applications.target(app),
        action="app edit",
        target=app.name,
        command=command,
        call=lambda: applications.application_edit(
            app=app, compose_text=form.cleaned_data["compose"], env_text=form.cleaned_data["env"]
        ),
    )
    return redirect(reverse("app:detail", args=[engine.slug, app.name]))


@changes_its_object
@require_POST
def app_rollback(request: HttpRequest, name: str, number: int) -> HttpResponse:
    """Deploys revision `number` again, each service on the image it ran then."""
    app = _app(request, name)
    earlier = app.revisions.filter(number=number).first()
    if earlier is None:
        raise NotFound(f"{app.name} has no revision {number}.")
    if not earlier.images:
        _checked(request, app, "rollback", cli.compose(app.name, "up", "-d"))
        return _refused_page(
            request,
            app,
            [f"Revision {number} ran no container: there is nothing to go back to."],
            status=400,
        )
    return _deploy(request, app, action=Revision.ROLLBACK, rollback_of=earlier)


@changes_its_object
@require_GET
def app_diff(request: HttpRequest, name: str) -> HttpResponse:
    """The change of the YAML (and of the .env's keys, for those who may see its values:
    the values too) between two revisions (?a=&b=; b may be "current", the edited files)."""
    app = _app(request, name)
    actor = actor_of(request)
    see_env = access.allowed(actor, access.ADMINISTER, applications.target(app))

    def files(which: str) -> tuple[str, str, str]:
        if which == "current":
            return "current", app.compose, applications.env_of(app)
        found = app.revisions.filter(number=int(which) if which.isdigit() else 0).first()
        if found is None:
            raise NotFound(f"{app.name} has no revision {which}.")
        return f"revision {found.number}", found.compose, applications.env_of(found)

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


def _diff(a: str, b: str, a_name: str, b_name: str) -> list[str]:
    return list(difflib.unified_diff(a.splitlines(), b.splitlines(), a_name, b_name, lineterm=""))
