"""What changes a compose application: its actions (each a job of `docker compose`), one
service redeployed, an edit of its files, a rollback, and a found project adopted; a found
project's start, stop, restart and down act on its containers by their label."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from containers_app import (
    access,
    actions,
    applications,
    cli,
    compose_checks,
    compose_imports,
    engines,
)
from containers_app.engine import Conflict, EngineError, NotFound, compose
from containers_app.engine import containers as engine_containers
from containers_app.engine import networks as engine_networks
from containers_app.find import Found
from containers_app.forms import (
    ApplicationAdoptForm,
    ApplicationDownForm,
    ApplicationEditForm,
    ApplicationForm,
)
from containers_app.models import Application, Revision, Team
from containers_app.views.apps import application_of, project_of
from containers_app.views.common import (
    about_engine,
    action_done,
    actor_of,
    can_change,
    changes_its_object,
    engine_for,
    typed,
)
from containers_app.views.objects import creatable_teams

ACTIONS = ("deploy", "pull", "stop", "start", "restart", "down")
# A found project's actions, by its containers' label, as `docker` would do them.
EXTERNAL = {"start": "start", "stop": "stop", "restart": "restart", "down": "force_remove"}
PAST = {"start": "Started", "stop": "Stopped", "restart": "Restarted", "down": "Removed"}


def _checked(request: HttpRequest, app: Application, action: str, command: str) -> str:
    """The application's team, if the actor may do `action` to it; else a 403 (recorded).
    A change while another compose job of the application runs is a 409: two runs of
    compose on one project race."""
    team = actions.check(
        request,
        engine=engine_for(request),
        needs=applications.NEEDS[action],
        on=applications.target(app),
        action=f"app {action}",
        target=app.name,
        command=command,
    )
    if action != "edit" and (running := applications.running_job(app)) is not None:
        raise Conflict(
            f"{running.kind} of {app.name} is running (job #{running.pk}): wait for it to end, "
            "or cancel it."
        )
    return team


def refused_page(request: HttpRequest, app, reasons: list[str], *, status: int) -> HttpResponse:
    context = {"app": app, "reasons": reasons, "status": status}
    return render(request, "apps/refused.html", context, status=status)


def checked_files(
    request: HttpRequest,
    *,
    app: Application | None,
    action: str,
    command: str,
    name: str,
    team: str,
    compose_text: str,
    env_text: str,
    own_containers: int = 0,
    pulling_all: bool = False,
    pinned: dict | None = None,
) -> compose_checks.Checked | compose_checks.Invalid | compose_checks.Refused:
    """The files checked (compose_checks.check_files), if the actor may deploy them as
    application `name`; else why not (a refusal recorded as denied)."""
    engine = engine_for(request)
    try:
        return compose_checks.check_files(
            actor_of(request),
            engine,
            name=name,
            team=team,
            compose_text=compose_text,
            env_text=env_text,
            project_directory=app.project_directory if app else "",
            own_containers=own_containers,
            pulling_all=pulling_all,
            pinned=pinned,
        )
    except compose_checks.Invalid as error:
        return error
    except compose_checks.Refused as refused:
        actions.denied(
            request,
            engine=engine,
            action=f"app {action}",
            command=command,
            team=team,
            reason=" ".join(refused.reasons),
            target=name,
        )
        return refused


def _checked_as_app(
    request: HttpRequest, app: Application, source: Application | Revision, **given
) -> compose_checks.Checked | compose_checks.Invalid | compose_checks.Refused:
    """checked_files on the files of `source` (the application's current ones, or a
    revision's), as application `app`."""
    try:
        env_text = applications.env_of(source)
    except compose_checks.Invalid as error:
        return error
    return checked_files(
        request, app=app, name=app.name, compose_text=source.compose, env_text=env_text, **given
    )


def refusal_page(request, app, problem) -> HttpResponse:
    if isinstance(problem, compose_checks.Invalid):
        return refused_page(request, app, [problem.reason], status=400)
    return refused_page(request, app, problem.reasons, status=403)


def deploy(
    request: HttpRequest,
    app: Application,
    *,
    action: str,
    service: str = "",
    rollback_of: Revision | None = None,
    checked: compose_checks.Checked | None = None,
    own_containers: int = 0,
) -> HttpResponse:
    """Checks the files a deploy takes (unless a new application's were just `checked`),
    records a revision and starts its job; answers with the job's page. `own_containers`:
    how many the application has now (project_of listed them), which the deploy replaces."""
    engine = engine_for(request)
    source = rollback_of or app
    args = applications.redeploy_args(service) if service else applications.COMMANDS["deploy"]
    command = cli.compose(app.name, *args)
    team = _checked(request, app, action, command)
    try:
        env_text = applications.env_of(source)
    except compose_checks.Invalid as error:
        return refusal_page(request, app, error)
    if checked is None:
        checked = _checked_as_app(
            request,
            app,
            source,
            action=action,
            command=command,
            team=team,
            own_containers=own_containers,
            pinned=applications.pins_of(rollback_of),
        )
        if not isinstance(checked, compose_checks.Checked):
            return refusal_page(request, app, checked)
    revision = applications.revision_start(
        app=app, by=request.user, action=action, service=service, rollback_of=rollback_of
    )
    files = compose.Files(source.compose, env_text, checked.override)
    job = _job(
        request,
        app,
        action,
        command,
        work=applications.deploy_work(revision, engine, args, files),
        cleanup=lambda: applications.revision_settled(revision),
    )
    revision.job_id = job.pk
    revision.save(update_fields=["job"])
    return redirect("jobs:detail", job_id=job.pk)


def _job(request: HttpRequest, app: Application, action: str, command: str, **given):
    """A compose job of `app` (actions.perform_job: checked again, audited as it ends)."""
    return actions.perform_job(
        request,
        on=applications.target(app),
        engine=engine_for(request),
        needs=applications.NEEDS[action],
        kind=f"app {action}",
        target=app.name,
        command=command,
        **given,
    )


def _new_form(request: HttpRequest, data=None) -> ApplicationForm:
    offered = creatable_teams(request)
    return ApplicationForm(
        data,
        teams=offered["teams"],
        no_team=offered["no_team"],
        engines=engines.usable_by(request.user),
    )


def _new_page(request, form, *, status=200, problem=None) -> HttpResponse:
    context = {
        "form": form,
        "refusals": problem.reasons if isinstance(problem, compose_checks.Refused) else (),
        "invalid": problem.reason if isinstance(problem, compose_checks.Invalid) else "",
    }
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
    data = form.cleaned_data
    about_engine(request, form.engine)
    name, team = data["name"], data.get("team") or ""
    command = cli.compose(name, *applications.COMMANDS["deploy"])
    actions.check(
        request,
        engine=form.engine,
        needs=access.ADMINISTER,
        on=applications.target(team=team or None),
        action="app deploy",
        target=name,
        command=command,
    )
    if taken := compose_checks.name_refusal(form.engine, name):
        form.add_error("name", taken)
        return _new_page(request, form, status=400)
    files = {"compose_text": data["compose"], "env_text": data["env"]}
    checked = checked_files(
        request, app=None, action="deploy", command=command, name=name, team=team, **files
    )
    if not isinstance(checked, compose_checks.Checked):
        status = 400 if isinstance(checked, compose_checks.Invalid) else 403
        return _new_page(request, form, status=status, problem=checked)
    try:
        app = applications.application_create(
            by=request.user,
            engine=form.engine,
            name=name,
            team=Team.objects.filter(slug=team).first() if team else None,
            **files,
        )
    except compose_checks.Invalid as error:
        form.add_error("name", error.reason)
        return _new_page(request, form, status=400)
    return deploy(request, app, action=Revision.DEPLOY, checked=checked)


@changes_its_object
@require_POST
def app_action(request: HttpRequest, name: str, action: str) -> HttpResponse:
    """deploy, pull, stop, start, restart or down (with --volumes if asked), as a job; on a
    found project, start, stop, restart and down act on its containers by their label."""
    project = project_of(request, name)
    if project.app is None:
        return _external(request, project, action)
    app = project.app
    if action == "deploy":
        return deploy(request, app, action=Revision.DEPLOY, own_containers=len(project.containers))
    args = applications.COMMANDS[action]
    down = ApplicationDownForm(request.POST)
    if action == "down" and down.is_valid() and down.cleaned_data["volumes"]:
        args = (*args, "--volumes")
    command = cli.compose(app.name, *args)
    team = _checked(request, app, action, command)
    if action == "pull":
        checked = _checked_as_app(
            request,
            app,
            applications.deployed_files(app),
            action=action,
            command=command,
            team=team,
            own_containers=len(project.containers),
            pulling_all=True,
        )
        if not isinstance(checked, compose_checks.Checked):
            return refusal_page(request, app, checked)
    engine = engine_for(request)
    work = applications.action_work(app, engine, args)
    job = _job(request, app, action, command, work=work, key=("app", engine.slug, app.name, action))
    return redirect("jobs:detail", job_id=job.pk)


def _external(request: HttpRequest, project: applications.Project, action: str) -> HttpResponse:
    """A found project's containers started, stopped, restarted or removed (down: then its
    networks), each as the actor may; what was refused or failed is said."""
    if action not in EXTERNAL:
        raise NotFound(
            f"{project.name} was not deployed by Berth: adopt it first (superusers), then "
            f"{action} it."
        )
    engine = engine_for(request)
    verb = EXTERNAL[action]
    found = {
        c.id: Found(
            access.CONTAINER, c.id, c.name, access.target_of(access.CONTAINER, c), c, engine
        )
        for c in project.containers
    }
    outcome = actions.perform_many(
        request,
        engine=engine,
        found=found,
        needs=access.ADMINISTER if action == "down" else access.OPERATE,
        action=verb,
        command_of=lambda names: cli.container_action(verb, names),
        call=lambda full_id: engine_containers.container_act(
            engine=engine, container_id=full_id, action=verb
        ),
    )
    failed = {found[ref].name: error for ref, error in outcome.items() if error}
    if action == "down" and not failed:
        failed |= _remove_networks(request, project)
    done = len(outcome) - sum(1 for error in outcome.values() if error)
    message = f"{PAST[action]} {done} of {len(outcome)} containers of {project.name}: " + typed(
        request, cli.container_action(verb, [c.name for c in project.containers])
    )
    if failed:
        message += ". Not done: " + "; ".join(
            f"{n}: {getattr(e, 'reason', e)}" for n, e in failed.items()
        )
    return action_done(
        request,
        message=message,
        level=messages.WARNING if failed else messages.SUCCESS,
        fallback=reverse("app:detail", args=[engine.slug, project.name]),
    )


def _remove_networks(request: HttpRequest, project: applications.Project) -> dict:
    """The found project's networks removed as `docker compose down` would, each as the
    actor may administer it; name: what went wrong."""
    engine = engine_for(request)
    networks = [
        n
        for n in engine_networks.network_list(engine=engine)
        if n.labels.get(access.PROJECT_LABEL) == project.name
    ]
    found = {
        n.id: Found(access.NETWORK, n.id, n.name, access.target_of(access.NETWORK, n), n, engine)
        for n in networks
    }
    outcome = actions.perform_many(
        request,
        engine=engine,
        found=found,
        needs=access.ADMINISTER,
        action="network remove",
        command_of=lambda names: cli.docker("network", "rm", *names),
        call=lambda full_id: engine_networks.network_remove(engine=engine, network_id=full_id),
    )
    return {found[ref].name: error for ref, error in outcome.items() if error}


@changes_its_object
@require_POST
def app_redeploy_service(request: HttpRequest, name: str, service: str) -> HttpResponse:
    """Makes one service's containers again from the application's current files; the
    other services' containers are left as they are (--no-deps)."""
    project = project_of(request, name)
    app = application_of(project)
    if service not in applications.services_of(app, project):
        raise NotFound(f"{app.name} has no service {service}.")
    return deploy(
        request,
        app,
        action=Revision.REDEPLOY,
        service=service,
        own_containers=len(project.containers),
    )


@changes_its_object
@require_POST
def app_edit(request: HttpRequest, name: str) -> HttpResponse:
    """New YAML and .env, taken by the next deploy; nothing running changes now. Checked
    as a deploy would be, so that what is kept can be deployed."""
    project = project_of(request, name)
    app = application_of(project)
    command = f"edit {app.name}'s compose.yaml and .env (taken by the next deploy)"
    team = _checked(request, app, "edit", command)
    form = ApplicationEditForm(request.POST)
    if not form.is_valid():
        reasons = [error for errors in form.errors.values() for error in errors]
        return refused_page(request, app, reasons, status=400)
    compose_text, env_text = form.cleaned_data["compose"], form.cleaned_data["env"]
    checked = checked_files(
        request,
        app=app,
        action="edit",
        command=command,
        name=app.name,
        team=team,
        compose_text=compose_text,
        env_text=env_text,
        own_containers=len(project.containers),
    )
    if not isinstance(checked, compose_checks.Checked):
        return refusal_page(request, app, checked)
    actions.perform_new(
        request,
        engine=engine_for(request),
        needs=access.ADMINISTER,
        on=applications.target(app),
        action="app edit",
        target=app.name,
        command=command,
        call=lambda: applications.application_edit(
            app=app, compose_text=compose_text, env_text=env_text
        ),
    )
    messages.success(request, f"Saved: the next deploy of {app.name} takes these files.")
    return redirect(reverse("app:detail", args=[app.engine, app.name]))


@changes_its_object
@require_POST
def app_rollback(request: HttpRequest, name: str, number: int) -> HttpResponse:
    """Deploys revision `number` again, each service on the image it ran then."""
    project = project_of(request, name)
    app = application_of(project)
    earlier = app.revisions.filter(number=number).first()
    if earlier is None:
        raise NotFound(f"{app.name} has no revision {number}.")
    if not earlier.images:
        _checked(request, app, "rollback", cli.compose(app.name, "up", "-d"))
        reason = f"Revision {number} ran no container: there is nothing to go back to."
        return refused_page(request, app, [reason], status=400)
    return deploy(
        request,
        app,
        action=Revision.ROLLBACK,
        rollback_of=earlier,
        own_containers=len(project.containers),
    )


@changes_its_object
@require_POST
def app_adopt(request: HttpRequest, name: str) -> HttpResponse:
    """A found project taken in as an application of a team (superusers): from its YAML
    pasted, or, on the local engine, from the files its labels name, read from the folders
    BERTH_COMPOSE_IMPORT_DIRS allows. Nothing running changes now."""
    project = project_of(request, name)
    engine = engine_for(request)
    adopting = {
        "engine": engine,
        "needs": access.ASSIGN,
        "on": applications.target(team=None),
        "action": "app adopt",
        "target": name,
        "command": cli.team_assign(request.POST.get("team", "")[:63], name, engine.slug),
    }
    actions.check(request, **adopting)
    if project.app is not None:
        reason = f"{name} is an application already."
        return refused_page(request, project.app, [reason], status=400)
    form = ApplicationAdoptForm(request.POST)
    if not form.is_valid():
        reasons = [error for errors in form.errors.values() for error in errors]
        return refused_page(request, None, reasons, status=400)
    team = form.cleaned_data["team"]
    if team and not engine.granted(team):
        reason = (
            f"Team {team} may not use engine {engine.slug}: grant it on the Engines page first."
        )
        return refused_page(request, None, [reason], status=400)
    try:
        labels = project.containers[0].labels if project.containers else {}
        files = compose_imports.adopted_files(engine, name, labels, form.cleaned_data)
        app = actions.perform_new(
            request,
            **adopting,
            call=lambda: applications.application_adopt(
                by=request.user,
                engine=engine,
                name=name,
                team=form.team_row,
                compose_text=files.compose,
                env_text=files.env,
                project_directory=files.project_directory,
            ),
        )
    except (compose_checks.Invalid, EngineError) as error:
        return refused_page(request, None, [error.reason], status=400)
    messages.success(request, f"{name} is an application of {form.team_row or 'no team'} now.")
    return redirect(reverse("app:detail", args=[engine.slug, app.name]))
