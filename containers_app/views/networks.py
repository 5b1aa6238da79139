"""Network pages: `docker network ls`, `create`, `inspect` and `rm`. A team's member sees the
team's networks and the engine's own (bridge, host, none); its admins create and remove them."""

import dataclasses

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from containers_app import access, actions, cli
from containers_app.engine import Conflict, InvalidRequest
from containers_app.engine import containers as engine_containers
from containers_app.engine import networks as engine_networks
from containers_app.engine.networks import Network
from containers_app.forms import NetworkCreateForm, add_team_field, creation_arguments
from containers_app.views.common import (
    action_done,
    actor_of,
    can_change,
    can_view,
    changes_its_object,
    engine_for,
    engine_url,
    render_list,
    typed,
)
from containers_app.views.objects import creatable_teams, found


def _create_form(request: HttpRequest, data=None) -> NetworkCreateForm:
    form = NetworkCreateForm(data, initial={"driver": "bridge"})
    add_team_field(form, **creatable_teams(request))
    return form


def _list_page(request: HttpRequest, form: NetworkCreateForm, status: int = 200) -> HttpResponse:
    actor = actor_of(request)
    networks = engine_networks.network_list(engine=engine_for(request))
    context = {
        "networks": access.visible(actor, access.NETWORK, networks),
        "actor": actor,
        "form": form,
        # Offered to whoever may create for some team; shown again with its error to anyone
        # who sent it.
        "may_create": bool(form.fields["team"].choices) or form.is_bound,
        "command": cli.docker("network", "ls"),
    }
    return render_list(request, "networks/list.html", "networks/_rows.html", context, status)


@can_view
@require_GET
def network_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, _create_form(request))


@can_view
@require_GET
def network_detail(request: HttpRequest, ref: str) -> HttpResponse:
    checked = found(request, access.NETWORK, ref)
    network = _without_hidden_containers(request, checked.obj)
    context = {
        "network": network,
        "may_remove": not network.builtin
        and access.allowed(actor_of(request), access.ADMINISTER, checked.target),
        "inspect_command": cli.inspect("network", network.name),
        "remove_command": cli.network_remove([network.name]),
    }
    return render(request, "networks/detail.html", context)


def _without_hidden_containers(request: HttpRequest, network: Network) -> Network:
    """`network` as the user may see it: an engine's own network (bridge) holds every team's
    containers, so only the attached containers the user may see are shown, and its raw
    inspect JSON, which names them all, only when none is left out."""
    if not network.containers:
        return network
    listed = engine_containers.container_list(
        engine=engine_for(request), all=True, ids=[e.container_id for e in network.containers]
    )
    seen = {c.id for c in access.visible(actor_of(request), access.CONTAINER, listed)}
    shown = tuple(e for e in network.containers if e.container_id in seen)
    if len(shown) == len(network.containers):
        return network
    return dataclasses.replace(network, containers=shown, raw_json="")


@can_change
@require_POST
def network_create(request: HttpRequest) -> HttpResponse:
    form = _create_form(request, request.POST)
    if not form.is_valid():
        return _list_page(request, form, status=400)
    engine = engine_for(request)
    arguments = creation_arguments(form)
    command = cli.network_create(**arguments)
    try:
        actions.perform_new(
            request,
            engine=engine,
            needs=access.ADMINISTER,
            on=access.Target(access.NETWORK, team=form.cleaned_data["team"] or None),
            action="network create",
            target=arguments["name"],
            command=command,
            call=lambda: engine_networks.network_create(engine=engine, **arguments),
        )
    except (InvalidRequest, Conflict) as error:
        form.add_error(None, error.reason)
        return _list_page(request, form, status=409 if isinstance(error, Conflict) else 400)
    messages.success(request, f"Created network {arguments['name']}: {typed(request, command)}")
    return redirect(engine_url(request, "networks:list"))


@changes_its_object
@require_POST
def network_remove(request: HttpRequest, ref: str) -> HttpResponse:
    network = found(request, access.NETWORK, ref)
    command = cli.network_remove([network.name])
    actions.perform(
        request,
        on=network,
        needs=access.ADMINISTER,
        action="network rm",
        command=command,
        call=lambda full_id: engine_networks.network_remove(
            engine=network.engine, network_id=full_id
        ),
    )
    return action_done(
        request,
        message=f"Removed network: {typed(request, command)}",
        fallback=engine_url(request, "networks:list"),
    )
