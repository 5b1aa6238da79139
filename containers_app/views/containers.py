"""Container pages: `docker ps`, `docker inspect` and the lifecycle buttons."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from containers_app import access, actions, audit, cli, masking
from containers_app.engine import EngineUnavailable, NotFound
from containers_app.engine import containers as engine_containers
from containers_app.forms import (
    CONTAINER_SORTS,
    ContainerBulkForm,
    ContainerCommitForm,
    ContainerFilterForm,
)
from containers_app.rows import container_rows
from containers_app.views.common import (
    action_done,
    actor_of,
    can_change,
    can_view,
    changes_its_object,
    engine_for,
    render_list,
    sort_queries,
)
from containers_app.views.errors import bad_request
from containers_app.views.objects import Hidden, container_for, hidden_attempt

PAST_TENSE = {
    "start": "Started",
    "stop": "Stopped",
    "restart": "Restarted",
    "pause": "Paused",
    "unpause": "Unpaused",
    "kill": "Killed",
    "remove": "Removed",
    "force_remove": "Force-removed",
}
REMOVALS = ("remove", "force_remove")
# What each action needs of the container's team (access.py): removing is an admin's.
NEEDS = {
    action: access.ADMINISTER if action in REMOVALS else access.OPERATE for action in PAST_TENSE
}


@can_view
@require_GET
def container_list(request: HttpRequest) -> HttpResponse:
    form = ContainerFilterForm(request.GET)
    if not form.is_valid():
        context = {"form": form, "containers": [], "command": cli.docker("ps")}
        return render_list(request, "containers/list.html", "containers/_rows.html", context, 400)
    containers = access.visible(
        actor_of(request),
        access.CONTAINER,
        engine_containers.container_list(engine=engine_for(request), **form.filters()),
    )
    if key := form.sort_key():
        desc = form.cleaned_data["desc"]
        if not desc:
            # The engine lists newest first to the nanosecond but `Created` holds whole
            # seconds: an ascending sort keeps ties in creation order only from the oldest.
            containers.reverse()
        containers.sort(key=key, reverse=desc)
    context = {
        "form": form,
        "containers": container_rows(containers, actor_of(request)),
        "command": cli.container_list(**form.filters()),
        "actions": [(a, cli.CONTAINER_ACTION_WORDS[a]) for a in engine_containers.ACTIONS],
        "sort_query": sort_queries(request, CONTAINER_SORTS),
    }
    return render_list(request, "containers/list.html", "containers/_rows.html", context)


@can_view
@require_GET
def container_detail(request: HttpRequest, ref: str) -> HttpResponse:
    container, target = container_for(request, ref)
    if not access.allowed(actor_of(request), access.SEE_SECRETS, target):
        # Before rendering, so no part of the page (nor the live refresh, which asks this view
        # again) can hold a secret value.
        container = masking.masked_container(container)
    actions = [
        (action, cli.container_action(action, [container.name]))
        for action in engine_containers.ACTIONS
    ]
    context = {
        "c": container,
        "actions": actions,
        "inspect_command": cli.inspect("container", container.name),
        "commit_form": ContainerCommitForm(),
        "commit_command": cli.container_commit(container.name, "REPOSITORY:TAG"),
    }
    return render(request, "containers/detail.html", context)


@changes_its_object
@require_POST
def container_action(request: HttpRequest, ref: str, action: str) -> HttpResponse:
    action = action.replace("-", "_")
    if action not in engine_containers.ACTIONS:
        raise Http404("No such container action.")
    engine = engine_for(request)
    command = cli.container_action(action, [ref])
    try:
        _, target = container_for(request, ref)
    except Hidden:
        raise
    except NotFound as error:
        # No such container: still an attempted change, recorded as failed (of no team, so
        # only superusers read it).
        audit.record(
            request, engine=engine, action=action, target=ref, command=command, error=error
        )
        raise
    actions.perform(
        request,
        engine=engine,
        needs=NEEDS[action],
        on=target,
        action=action,
        target=ref,
        command=command,
        call=lambda: engine_containers.container_act(
            engine=engine, container_id=ref, action=action
        ),
    )
    message = f"{PAST_TENSE[action]} {ref}: {command}"
    if action in REMOVALS:
        return action_done(request, message=message, fallback=reverse("containers:list"))
    row = engine_containers.container_summary(engine=engine, container_id=ref)
    return action_done(
        request,
        message=message,
        fallback=reverse("containers:detail", args=[ref]),
        partial="containers/_row.html",
        context={"c": container_rows([row], actor_of(request))[0]},
    )


@can_change
@require_POST
def container_bulk(request: HttpRequest) -> HttpResponse:
    form = ContainerBulkForm(request.POST)
    list_url = reverse("containers:list")
    if not form.is_valid():
        return bad_request(request, form)
    engine = engine_for(request)
    action, ids = form.cleaned_data["action"], form.cleaned_data["ids"]
    command = cli.container_action(action, ids)
    teams, refused = _bulk_access(request, action, ids)
    permitted = [ref for ref in ids if ref not in refused]
    results = engine_containers.container_act_many(
        engine=engine, container_ids=permitted, action=action
    )
    for ref, error in results.items():
        audit.record(
            request,
            engine=engine,
            action=action,
            target=ref,
            command=cli.container_action(action, [ref]),
            error=error,
            team=teams.get(ref, ""),
        )
    failed = refused | {ref: error for ref, error in results.items() if error}
    unavailable = [e for e in failed.values() if isinstance(e, EngineUnavailable)]
    if unavailable and len(failed) == len(ids):
        raise unavailable[0]  # the engine is down: a 503, not "0 of N done"
    done = [ref for ref in ids if ref not in failed]
    message = f"{PAST_TENSE[action]} {len(done)} of {len(ids)}: {command}"
    if failed:
        # Name what failed as the list shows it: the list's form posts full ids.
        # Only those the user may see: another team's is "No such container", under its ref.
        still_there = access.visible(
            actor_of(request),
            access.CONTAINER,
            engine_containers.container_list(engine=engine, ids=list(failed)),
        )
        names = {c.id: c.name for c in still_there}
        message += ". Failed: " + "; ".join(
            f"{names.get(ref, ref)}: {e.reason}" for ref, e in failed.items()
        )
    changed = [] if action in REMOVALS else done
    rows = engine_containers.container_list(engine=engine, ids=changed) if changed else []
    return action_done(
        request,
        message=message,
        level=messages.WARNING if failed else messages.SUCCESS,
        fallback=list_url,
        partial="containers/_bulk_result.html",
        context={
            "rows": container_rows(rows, actor_of(request)),
            "removed": done if action in REMOVALS else [],
        },
    )


def _bulk_access(
    request: HttpRequest, action: str, refs: list[str]
) -> tuple[dict[str, str], dict[str, Exception]]:
    """Each selected container's team, and why those the actor may not `action` are left
    out: one they may not see is "No such container", as the engine would say (a refused
    attempt recorded once, by route); one they see, the refusal, recorded as denied."""
    engine = engine_for(request)
    actor = actor_of(request)
    rows = engine_containers.container_list(engine=engine, all=True)
    by_ref = {c.id: c for c in rows} | {c.name: c for c in rows}
    teams: dict[str, str] = {}
    refused: dict[str, Exception] = {}
    for ref in refs:
        row = by_ref.get(ref) or next((c for c in rows if c.id.startswith(ref)), None)
        target = access.Target(access.CONTAINER, row.labels if row else {})
        if row is None or not access.allowed(actor, access.VIEW, target):
            refused[ref] = NotFound(f"No such container: {ref}", engine=engine.base_url)
            if row is not None:
                hidden_attempt(request, engine)
            continue
        teams[ref] = access.owner(actor, target) or ""
        if not access.allowed(actor, NEEDS[action], target):
            refused[ref] = actions.denied(
                request,
                engine=engine,
                action=action,
                target=ref,
                command=cli.container_action(action, [ref]),
                team=teams[ref],
                reason=actions.refusal(NEEDS[action]),
            )
    return teams, refused
