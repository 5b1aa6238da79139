"""`docker commit` and recreate (the same configuration on the newest image), which run as
jobs (see jobs.py) and answer with the job's page."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from containers_app import (
    access,
    actions,
    cli,
    container_checks,
    credentials,
    image_origins,
    job_work,
    rules,
    team_networks,
)
from containers_app.engine import recreate as engine_recreate
from containers_app.engine.recreate import RecreatePlan
from containers_app.find import Found
from containers_app.forms import (
    ContainerCommitForm,
    ContainerRecreateForm,
    ImagePullForm,
)
from containers_app.views.common import actor_of, changes_its_object, engine_for, is_htmx
from containers_app.views.errors import bad_request
from containers_app.views.images import refuse_registry
from containers_app.views.objects import found as found_object


def _nothing_done(request: HttpRequest, reason: str, status: int) -> HttpResponse:
    """An answer saying why nothing was done, as bad_request words a form's errors."""
    context = {
        "status": status,
        "title": "Nothing was done",
        "reason": reason,
        "flash": f"Nothing was done: {reason}",
        "flash_level": "error",
    }
    template = "_flash.html" if is_htmx(request) else "error.html"
    response = render(request, template, context, status=status)
    response["HX-Reswap"] = "none"
    return response


@changes_its_object
@require_POST
def container_commit(request: HttpRequest, ref: str) -> HttpResponse:
    """`docker commit` as a job: a new image of the container's filesystem. The container's
    team's admins only: the image holds all of its files."""
    found = found_object(request, access.CONTAINER, ref)
    engine, container = found.engine, found.obj
    team = actions.check(
        request,
        needs=access.ADMINISTER,
        on=found,
        action="commit",
        # What was asked, without its options: a --change may hold a secret's value.
        command=cli.container_commit(container.name, request.POST.get("repository", "")[:255]),
    )
    form = ContainerCommitForm(request.POST)
    if not form.is_valid():
        return bad_request(request, form)
    data = form.cleaned_data
    options = {k: data[k] for k in ("message", "author", "pause")} | {"changes": data["change"]}
    command = cli.container_commit(container.name, data["reference"], **options, masked=True)
    actions.refuse_if(
        request,
        image_origins.name_refusals(actor_of(request), engine, [data["reference"]]),
        engine=engine,
        action="commit",
        command=command,
        target=data["reference"],
        team=team,
    )
    job = actions.perform_job(
        request,
        on=found,
        needs=access.ADMINISTER,
        kind="commit",
        # The job's page and the audit trail never hold a secret's value.
        command=command,
        work=job_work.commit(
            engine=engine,
            container_id=found.id,
            repository=data["repository"],
            tag=data["tag"],
            **options,
            teams=[team],
        ),
        key=(engine, "commit", found.id, data["reference"]),
    )
    return redirect("jobs:detail", job_id=job.pk)


def _recreate_refusals(request: HttpRequest, plan: RecreatePlan) -> list[str]:
    """Why this user may not recreate the container: the options it has that reach the
    host. With them, a recreate (above all with a pull) would run whatever image the
    reference now names with the host's root."""
    if access.allowed(actor_of(request), access.RUN_PRIVILEGED):
        return []
    engine = engine_for(request)
    extra = container_checks.network_refusals(
        actor_of(request), engine, plan.spec, list(plan.networks)
    )
    return (
        container_checks.run_refusals(actor_of(request), engine, plan.spec)
        + extra
        + list(plan.reaches_host)
    )


def _team_network_instead_of_bridge(request: HttpRequest, container: Found) -> str:
    """The team's own network, for a team's container on the engine's default bridge (which
    every team's containers share): a recreate moves it there. "" otherwise."""
    team = access.owner(actor_of(request), container.target)
    on_bridge = any(n.name == team_networks.DEFAULT_BRIDGE for n in container.obj.networks)
    if not team or not on_bridge:
        return ""
    # Only for one who may recreate it: the network is made on first use.
    if not access.allowed(actor_of(request), access.ADMINISTER, container.target):
        return ""
    return team_networks.team_network(engine=container.engine, team=team)


# How settings_not_copied names a container that publishes every port on ports the engine picks.
PUBLISH_ALL = "--publish-all"


def recreate_command(plan: RecreatePlan, *, pull: bool, masked: bool = False) -> str:
    return cli.container_recreate(
        plan.spec,
        old_name=plan.old_name,
        pull=pull,
        running=plan.running,
        paused=plan.paused,
        networks=plan.networks,
        # The other networks are connected, not left out.
        also=[flag for flag in plan.not_in_spec if not flag.startswith("--network ")],
        masked=masked,
    )


@changes_its_object
@require_POST
def container_recreate(request: HttpRequest, ref: str) -> HttpResponse:
    """Recreate as a job: the container made again with its own configuration on the newest
    image its reference names (`pull=1`: pulled first, with the user's registry login), by
    its team's admins and within its team's policy. The original is removed only once its
    replacement runs; see engine/recreate.py."""
    found = found_object(request, access.CONTAINER, ref)
    engine = found.engine
    form = ContainerRecreateForm(request.POST)
    if not form.is_valid():
        return bad_request(request, form)
    pull = form.cleaned_data["pull"]
    plan = engine_recreate.recreate_plan(
        engine=engine, container_id=found.id, onto=_team_network_instead_of_bridge(request, found)
    )
    command = recreate_command(plan, pull=pull, masked=True)
    team = actions.check(
        request, needs=access.ADMINISTER, on=found, action="recreate", command=command
    )
    if refusals := _recreate_refusals(request, plan):
        raise PermissionDenied(f"Only a superuser may recreate {plan.name}: " + " ".join(refusals))
    actions.refuse_if(
        request,
        [r for r in [rules.recreate_refusal(actor_of(request), plan.name, plan.not_in_spec)] if r],
        engine=engine,
        action="recreate",
        command=command,
        target=plan.name,
        team=team,
    )
    broken = container_checks.policy_refusals(
        actor_of(request),
        engine,
        team,
        plan.spec,
        creating=False,
        publish_all=PUBLISH_ALL in plan.not_in_spec,
    )
    if broken:
        reason = " ".join(message for _, message in broken)
        actions.denied(
            request,
            engine=engine,
            action="recreate",
            command=command,
            team=team,
            reason=reason,
            on=found,
        )
        return _nothing_done(request, f"{plan.name} was not recreated: {reason}", 403)
    if plan.auto_remove:
        return _nothing_done(
            request,
            f"{plan.name} was run with --rm: the engine removes it when it stops, so it "
            "cannot be put back if its replacement fails. Run a new one instead.",
            409,
        )
    if plan.dependents:
        return _nothing_done(
            request,
            f"{', '.join(plan.dependents)} share{'s' * (len(plan.dependents) == 1)} "
            f"{plan.name}'s network stack (--network container:{plan.name}) and would lose "
            "it; recreate them together with docker compose instead.",
            409,
        )
    moved = plan.pullable and image_origins.name_moved(
        engine=engine, name=plan.image, runs=plan.image_id, team=team or None
    )
    if moved and moved[1] and not pull and not form.cleaned_data["confirm"]:
        context = {"name": plan.name, "reason": moved[0], "container_id": plan.id}
        return render(request, "containers/recreate_confirm.html", context, status=409)
    pulled = None
    if pull:
        reference = ImagePullForm({"reference": plan.image})
        if not plan.pullable or not reference.is_valid():
            return _nothing_done(
                request,
                f"{plan.name} was created from {plan.image}, not from a name and tag one can "
                "pull: recreate it without pulling.",
                400,
            )
        pulled = (reference.cleaned_data["repository"], reference.cleaned_data["tag"])
        refuse_registry(
            request,
            server=credentials.server_of(plan.image),
            teams_of=[team],
            action="recreate",
            command=command,
        )
        auth = credentials.registry_auth(request.user, plan.image)
    else:
        auth = None
    job = actions.perform_job(
        request,
        on=found,
        needs=access.ADMINISTER,
        kind="recreate",
        target=plan.name,
        # The job's page and the audit trail never hold a secret's value.
        command=command,
        work=job_work.recreate(engine=engine, plan=plan, pull=pulled, auth=auth, teams=[team]),
        key=(engine, "recreate", plan.id),
    )
    return redirect("jobs:detail", job_id=job.pk)
