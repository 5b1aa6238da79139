"""Network pages: `docker network ls`, `create`, `inspect` and `rm`."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from containers_app import actions, cli
from containers_app.engine import Conflict, InvalidRequest
from containers_app.engine import networks as engine_networks
from containers_app.forms import NetworkCreateForm
from containers_app.views.common import action_done, can_change, can_view, engine_for, render_list


def _list_page(request: HttpRequest, form: NetworkCreateForm, status: int = 200) -> HttpResponse:
    context = {
        "networks": engine_networks.network_list(engine=engine_for(request)),
        "form": form,
        "command": cli.docker("network", "ls"),
    }
    return render_list(request, "networks/list.html", "networks/_rows.html", context, status)


@can_view
@require_GET
def network_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, NetworkCreateForm(initial={"driver": "bridge"}))


@can_view
@require_GET
def network_detail(request: HttpRequest, ref: str) -> HttpResponse:
    network = engine_networks.network_inspect(engine=engine_for(request), network_id=ref)
    context = {
        "network": network,
        "inspect_command": cli.inspect("network", network.name),
        "remove_command": cli.network_remove([network.name]),
    }
    return render(request, "networks/detail.html", context)


@can_change
@require_POST
def network_create(request: HttpRequest) -> HttpResponse:
    form = NetworkCreateForm(request.POST)
    if not form.is_valid():
        return _list_page(request, form, status=400)
    engine = engine_for(request)
    command = cli.network_create(**form.cleaned_data)
    try:
        actions.perform(
            request,
            engine=engine,
            action="network create",
            target=form.cleaned_data["name"],
            command=command,
            call=lambda: engine_networks.network_create(engine=engine, **form.cleaned_data),
        )
    except (InvalidRequest, Conflict) as error:
        form.add_error(None, error.reason)
        return _list_page(request, form, status=409 if isinstance(error, Conflict) else 400)
    messages.success(request, f"Created network {form.cleaned_data['name']}: {command}")
    return redirect("networks:list")


@can_change
@require_POST
def network_remove(request: HttpRequest, ref: str) -> HttpResponse:
    engine = engine_for(request)
    command = cli.network_remove([ref])
    actions.perform(
        request,
        engine=engine,
        action="network rm",
        target=ref,
        command=command,
        call=lambda: engine_networks.network_remove(engine=engine, network_id=ref),
    )
    return action_done(
        request, message=f"Removed network: {command}", fallback=reverse("networks:list")
    )
