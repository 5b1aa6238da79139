"""`docker run` as a form: run a container, preview its command line, run one like another."""

import dataclasses

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from containers_app import (
    access,
    actions,
    cli,
    container_checks,
    credentials,
    image_origins,
    job_work,
    policy,
    team_networks,
    teams,
)
from containers_app.engine import Engine, EngineError, EngineUnavailable, NotFound
from containers_app.engine import containers as engine_containers
from containers_app.engine import images as engine_images
from containers_app.engine import networks as engine_networks
from containers_app.engine.containers import SimilarSpec
from containers_app.engine.convert import short_id
from containers_app.engine.specs import ContainerSpec
from containers_app.find import Found
from containers_app.forms import (
    NO_TEAM,
    ContainerRunForm,
    ExecForm,
    ImagePullForm,
    add_team_field,
)
from containers_app.models import Team
from containers_app.views.common import (
    actor_of,
    can_change,
    changes_its_object,
    engine_for,
    engine_url,
    typed,
)
from containers_app.views.errors import status_of
from containers_app.views.execs import terminal_context
from containers_app.views.images import refuse_registry
from containers_app.views.objects import creatable_teams
from containers_app.views.objects import found as found_object

# What the command line shows before an image is chosen.
NO_IMAGE_YET = cli.docker("run", "-d") + " IMAGE"


def run_form(request: HttpRequest, data=None, files=None, *, initial=None) -> ContainerRunForm:
    """The run form with the choice of the team the container is for."""
    form = ContainerRunForm(data, files, initial=initial)
    add_team_field(form, **creatable_teams(request))
    return form


def _policy_messages(
    request: HttpRequest, engine: Engine, team: str | None, spec: ContainerSpec
) -> list[str]:
    """What the policy of `team` would refuse of a new container of `spec`, before it is sent."""
    return [
        message
        for _, message in container_checks.policy_refusals(
            actor_of(request), engine, team, spec, creating=True
        )
    ]


def _team_policies(form: ContainerRunForm) -> list[tuple[str, list[str]]]:
    """The policy of each team the form offers, a line per rule, shown before it is sent."""
    field = form.fields.get("team")
    slugs = [value for value, _ in field.choices if value != NO_TEAM] if field else []
    return [(team.slug, policy.describe(team)) for team in Team.objects.filter(slug__in=slugs)]


def _run_page(
    request: HttpRequest,
    form: ContainerRunForm,
    *,
    command: str = NO_IMAGE_YET,
    status: int = 200,
    refusals: list[str] | None = None,
    policy_refused: list[str] | None = None,
    similar: SimilarSpec | None = None,
    image_moved: str = "",
) -> HttpResponse:
    engine = engine_for(request)
    team_field = form.fields.get("team")
    context = {
        "form": form,
        "command": command,
        "refusals": refusals or [],
        "policy_refusals": policy_refused or [],
        "team_policies": _team_policies(form),
        "no_team_choice": bool(team_field)
        and any(value == NO_TEAM for value, _ in team_field.choices),
        "similar": similar,
        "image_moved": image_moved,
        "may_run_privileged": access.allowed(actor_of(request), access.RUN_PRIVILEGED),
        "image_tags": sorted(
            tag for image in engine_images.image_list(engine=engine) for tag in image.tags
        ),
        "network_names": sorted(n.name for n in engine_networks.network_list(engine=engine)),
    }
    return render(request, "containers/run.html", context, status=status)


def _refused(
    request: HttpRequest, engine: Engine, form: ContainerRunForm, spec: ContainerSpec
) -> HttpResponse | None:
    """The page answering a valid form that may not be run as it is, or None if it may."""
    command = cli.container_run(spec)
    refusals = container_checks.run_refusals(actor_of(request), engine, spec)
    if refusals:
        return _run_page(request, form, command=command, status=403, refusals=refusals)
    return None


@can_change
@require_http_methods(["GET", "POST"])
def container_run(request: HttpRequest) -> HttpResponse:
    """GET: the form (?image= fills the image). POST: `docker run` for one of the user's
    teams, within its policy, then the new container's page: its terminal with -it, its logs
    without -d, else its details."""
    if request.method == "GET":
        image = request.GET.get("image", "").strip()
        form = run_form(request, initial={"image": image})
        preview = run_form(request, {"image": image, "restart": "no", "detach": "on"})
        if not preview.is_valid():
            return _run_page(request, form)
        spec, team = preview.spec(), preview.cleaned_data.get("team")
        return _run_page(
            request,
            form,
            command=cli.container_run(spec),
            policy_refused=_policy_messages(request, engine_for(request), team, spec),
        )
    form = run_form(request, request.POST, request.FILES)
    if not form.is_valid():
        return _run_page(request, form, status=400)
    engine = engine_for(request)
    team = form.cleaned_data.get("team") or ""
    spec = team_networks.on_team_network(form.spec(), team, engine=engine)
    if refused := _refused(request, engine, form, spec):
        return refused
    # The audit trail and the message (kept in a cookie) never hold a secret's value.
    audited = cli.container_run(spec, masked=True)
    target = spec.name or f"(new container of {spec.image})"
    on = access.Target(access.CONTAINER, dict(spec.label), team=team or None)
    actions.check(
        request,
        engine=engine,
        needs=access.ADMINISTER,
        on=on,
        action="run",
        target=target,
        command=audited,
    )
    # The team's maximum is checked and the container made under the team's lock: two runs
    # sent at once cannot both pass it.
    local = engine_images.image_exists(engine=engine, reference=spec.image)
    if not local:
        # Before the lock: a refusal raised inside it would roll back its audit entry.
        server = credentials.server_of(spec.image)
        refuse_registry(request, server=server, teams_of=[team], action="run", command=audited)
    failure: EngineError | None = None
    with teams.team_locked(team):
        if broken := container_checks.policy_refusals(
            actor_of(request), engine, team, spec, creating=True
        ):
            actions.denied(
                request,
                engine=engine,
                action="run",
                target=target,
                command=audited,
                team=team,
                reason=" ".join(message for _, message in broken),
            )
            for field, message in broken:
                form.add_error(field, message)
            return _run_page(request, form, command=cli.container_run(spec), status=400)
        if not local:
            return _pull_then_run(request, engine, form, spec, audited, team)
        try:
            container_id = actions.perform_new(
                request,
                engine=engine,
                needs=access.ADMINISTER,
                on=on,
                action="run",
                target=target,
                command=audited,
                call=lambda: engine_containers.container_run(engine=engine, spec=spec),
                named=lambda created: spec.name or short_id(created),
            )
        except EngineError as error:
            failure = error  # answered once the lock is let go, its audit entry kept
    if isinstance(failure, EngineUnavailable):
        raise failure
    if failure is not None:
        form.add_error(None, failure.reason)
        return _run_page(request, form, command=cli.container_run(spec), status=status_of(failure))
    return _after_run(request, engine, spec, container_id, audited)


def _pull_then_run(
    request: HttpRequest,
    engine: Engine,
    form: ContainerRunForm,
    spec: ContainerSpec,
    audited: str,
    team: str,
) -> HttpResponse:
    """An image the engine does not have is pulled first, as `docker run` does: a job, whose
    page shows the pull's progress and then the container it started for `team`."""
    pull = ImagePullForm({"reference": spec.image})
    if not pull.is_valid():
        form.add_error("image", pull.errors["reference"][0])
        return _run_page(request, form, command=cli.container_run(spec), status=400)
    reference = pull.cleaned_data["reference"]
    job = actions.perform_job(
        request,
        on=access.Target(access.CONTAINER, dict(spec.label), team=team or None),
        needs=access.ADMINISTER,
        engine=engine,
        kind="run",
        target=spec.name or f"(new container of {reference})",
        command=audited,
        work=job_work.pull_then_run(
            engine=engine,
            repository=pull.cleaned_data["repository"],
            tag=pull.cleaned_data["tag"],
            auth=credentials.registry_auth(request.user, reference),
            spec=spec,
            teams=[team],
            maximum_refusal=_maximum_refusal(actor_of(request), engine, team, spec),
        ),
    )
    return redirect("jobs:detail", job_id=job.pk)


def _maximum_refusal(actor: access.Actor, engine: Engine, team: str, spec: ContainerSpec):
    """What a pull-then-run's job asks, under the team's lock, before it makes the container:
    why the team is at its maximum by then (the policy's sentence), or ""."""

    def refusal() -> str:
        found = Team.objects.filter(slug=team).first() if team else None
        if found is None or found.containers_max is None:
            return ""
        count = container_checks.count_of(actor, engine, team)
        rules = policy.Policy.of(found)
        broken = policy.refusals(rules, spec, team_containers=count, creating=True)
        return " ".join(m for m in broken if m.startswith(f"Team {team} has "))

    return refusal


def _after_run(
    request: HttpRequest, engine: Engine, spec: ContainerSpec, container_id: str, audited: str
) -> HttpResponse:
    try:
        container = engine_containers.container_inspect(engine=engine, container_id=container_id)
    except NotFound:
        messages.success(
            request, f"Ran a container, which ended and was removed: {typed(request, audited)}"
        )
        return redirect(engine_url(request, "containers:list"))
    messages.success(request, f"Started container {container.name}: {typed(request, audited)}")
    if spec.interactive and spec.tty and container.running and not container.paused:
        # This POST carried the CSRF token, as the terminal form's does: it may issue the
        # terminal's ticket itself, and the page opens the terminal at once.
        context = {"c": container, "form": ExecForm()} | terminal_context(
            request, engine, container
        )
        return render(request, "containers/exec.html", context)
    if not spec.detach:
        # What `docker run` without -d shows: the container's output as it comes.
        return redirect(engine_url(request, "containers:logs", container.id))
    return redirect(engine_url(request, "containers:detail", container.id))


@can_change
@require_POST
def container_run_preview(request: HttpRequest) -> HttpResponse:
    """The `docker run` line of the form as it is being filled, or what is wrong with it,
    with what the host's rules and the chosen team's policy would refuse. A POST, as env
    values may be secrets that must not land in URLs and logs; runs nothing. A form not yet
    right is answered 200 all the same: the preview itself did what it was asked, and a
    half-typed form is no error of the page's."""
    form = run_form(request, request.POST, request.FILES)
    if not form.is_valid():
        context = {"form": form, "command": NO_IMAGE_YET, "preview": True}
        return render(request, "containers/_run_command.html", context)
    engine = engine_for(request)
    team = form.cleaned_data.get("team") or ""
    spec = team_networks.on_team_network(form.spec(), team)
    context = {
        "command": cli.container_run(spec),
        "refusals": container_checks.run_refusals(actor_of(request), engine, spec),
        "policy_refusals": _policy_messages(request, engine, team, spec),
        "preview": True,
    }
    return render(request, "containers/_run_command.html", context)


@changes_its_object
@require_GET
def container_run_similar(request: HttpRequest, ref: str) -> HttpResponse:
    """The run form filled to make another container like this one, for the original's team
    if the user may run for it; runs nothing. Its team's admins only: the form holds the
    original's environment, secret values included, and is a step of running a container."""
    found = found_object(request, access.CONTAINER, ref)
    engine, target = found.engine, found.target
    actor = actor_of(request)
    actions.check(request, needs=access.ADMINISTER, on=found, action="run similar")
    similar = engine_containers.container_spec(engine=engine, container_id=found.id)
    # Names are unique: the copy gets a name of its own, which the form lets one change.
    spec = dataclasses.replace(similar.spec, name=f"{similar.name}-2")
    initial = ContainerRunForm.initial_from(spec)
    team = access.owner(actor, target) or NO_TEAM
    form = run_form(request, initial=initial)
    if any(value == team for value, _ in form.fields["team"].choices):
        form.initial["team"] = team
    else:
        team = form.fields["team"].initial or NO_TEAM
    # As the form would run it: Berth's own labels are the chosen team's, not the original's.
    labels = {key: value for key, value in spec.label if not access.reserved_labels([key])}
    shown = dataclasses.replace(
        spec, label=tuple(({access.TEAM_LABEL: team or ""} | labels).items())
    )
    return _run_page(
        request,
        form,
        command=cli.container_run(shown),
        refusals=container_checks.run_refusals(actor_of(request), engine, shown),
        policy_refused=_policy_messages(request, engine, team, shown),
        similar=similar,
        image_moved=_image_moved(found, access.owner(actor, target)),
    )


def _image_moved(container: Found, team: str | None) -> str:
    """What run-similar says when the container's image name now names another image."""
    moved = image_origins.name_moved(
        engine=container.engine,
        name=container.obj.image,
        runs=container.obj.image_id,
        team=team,
    )
    return moved[0] if moved else ""
