"""Container pages: `docker ps`, `docker inspect` and the lifecycle buttons."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from containers_app import access, actions, cli, find, masking
from containers_app.engine import EngineUnavailable
from containers_app.engine import containers as engine_containers
from containers_app.find import Found
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
    can_view,
    changes_its_object,
    engine_for,
    engine_url,
    render_list,
    sort_queries,
    typed,
)
from containers_app.views.errors import bad_request
from containers_app.views.objects import found as found_object
from containers_app.views.objects import found_to_change, hidden_attempt

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
    found = found_object(request, access.CONTAINER, ref)
    container = found.obj
    if not access.allowed(actor_of(request), access.SEE_SECRETS, found.target):
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
    container = found_to_change(
        request,
        access.CONTAINER,
        ref,
        action=action,
        command=cli.container_action(action, [ref]),
    )
    engine = container.engine
    command = cli.container_action(action, [container.name])
    actions.perform(
        request,
        on=container,
        needs=NEEDS[action],
        action=action,
        command=command,
        call=lambda full_id: engine_containers.container_act(
            engine=engine, container_id=full_id, action=action
        ),
    )
    message = f"{PAST_TENSE[action]} {container.name}: {typed(request, command)}"
    if action in REMOVALS:
        return action_done(
            request, message=message, fallback=engine_url(request, "containers:list")
        )
    row = engine_containers.container_summary(engine=engine, container_id=container.id)
    return action_done(
        request,
        message=message,
        fallback=engine_url(request, "containers:detail", container.id),
        partial="containers/_row.html",
        context={"c": container_rows([row], actor_of(request))[0]},
    )


@changes_its_object
@require_POST
def container_bulk(request: HttpRequest) -> HttpResponse:
    """One action on the selected rows. Each reference is resolved once, as the engine
    would (full id, exact name, unique id prefix), and acted on by its full id."""
    form = ContainerBulkForm(request.POST)
    if not form.is_valid():
        return bad_request(request, form)
    engine = engine_for(request)
    action, refs = form.cleaned_data["action"], form.cleaned_data["ids"]
    found = find.find_many_containers(actor_of(request), engine, refs)
    if actions.hidden_among(found):
        hidden_attempt(request, engine)
    outcome = actions.perform_many(
        request,
        engine=engine,
        found=found,
        needs=NEEDS[action],
        action=action,
        command_of=lambda names: cli.container_action(action, names),
        call=lambda full_id: engine_containers.container_act(
            engine=engine, container_id=full_id, action=action
        ),
    )
    failed = {ref: error for ref, error in outcome.items() if error}
    unavailable = [e for e in failed.values() if isinstance(e, EngineUnavailable)]
    if unavailable and len(failed) == len(refs):
        raise unavailable[0]  # the engine is down: a 503, not "0 of N done"
    done = [found[ref] for ref in refs if ref not in failed]
    names = [f.name if isinstance(f, Found) else ref for ref, f in found.items()]
    message = f"{PAST_TENSE[action]} {len(done)} of {len(refs)}: " + typed(
        request, cli.container_action(action, names)
    )
    if failed:
        # Named as the user sees them; another team's is "No such container", under its ref.
        message += ". Failed: " + "; ".join(
            f"{found[ref].name if isinstance(found[ref], Found) else ref}: {error.reason}"
            for ref, error in failed.items()
        )
    changed = [] if action in REMOVALS else [f.id for f in done]
    rows = engine_containers.container_list(engine=engine, ids=changed) if changed else []
    rows = [row for row in rows if row.id in changed]
    return action_done(
        request,
        message=message,
        level=messages.WARNING if failed else messages.SUCCESS,
        fallback=engine_url(request, "containers:list"),
        partial="containers/_bulk_result.html",
        context={
            "rows": container_rows(rows, actor_of(request)),
            "removed": [f.id for f in done] if action in REMOVALS else [],
        },
    )
