"""Volume pages: `docker volume ls`, `create`, `inspect` and `rm`."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from containers_app import access, actions, cli
from containers_app.engine import Conflict, InvalidRequest
from containers_app.engine import volumes as engine_volumes
from containers_app.forms import ForceForm, VolumeCreateForm
from containers_app.views.common import (
    action_done,
    actor_of,
    can_change,
    can_view,
    engine_for,
    render_list,
)
from containers_app.views.errors import bad_request


def _list_page(request: HttpRequest, form: VolumeCreateForm, status: int = 200) -> HttpResponse:
    context = {
        "volumes": engine_volumes.volume_list(engine=engine_for(request)),
        "form": form,
        "command": cli.docker("volume", "ls"),
    }
    return render_list(request, "volumes/list.html", "volumes/_rows.html", context, status)


@can_view
@require_GET
def volume_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, VolumeCreateForm(initial={"driver": "local"}))


@can_view
@require_GET
def volume_detail(request: HttpRequest, ref: str) -> HttpResponse:
    volume = engine_volumes.volume_inspect(engine=engine_for(request), name=ref)
    context = {
        "volume": volume,
        "inspect_command": cli.inspect("volume", volume.name),
        "remove_command": cli.volume_remove([volume.name]),
        "force_remove_command": cli.volume_remove([volume.name], force=True),
    }
    return render(request, "volumes/detail.html", context)


@can_change
@require_POST
def volume_create(request: HttpRequest) -> HttpResponse:
    form = VolumeCreateForm(
        request.POST, any_volume=access.allowed(actor_of(request), access.ANY_VOLUME)
    )
    if not form.is_valid():
        return _list_page(request, form, status=400)
    engine = engine_for(request)
    command = cli.volume_create(**form.cleaned_data)
    try:
        name = actions.perform(
            request,
            engine=engine,
            action="volume create",
            target=form.cleaned_data["name"] or "(new volume)",
            command=command,
            call=lambda: engine_volumes.volume_create(engine=engine, **form.cleaned_data),
            named=lambda created: created,
        )
    except (InvalidRequest, Conflict) as error:
        form.add_error(None, error.reason)
        return _list_page(request, form, status=409 if isinstance(error, Conflict) else 400)
    messages.success(request, f"Created volume {name}: {command}")
    return redirect("volumes:list")


@can_change
@require_POST
def volume_remove(request: HttpRequest, ref: str) -> HttpResponse:
    form = ForceForm(request.POST)
    if not form.is_valid():
        return bad_request(request, form)
    force = form.cleaned_data["force"]
    engine = engine_for(request)
    command = cli.volume_remove([ref], force=force)
    actions.perform(
        request,
        engine=engine,
        action="volume rm",
        target=ref,
        command=command,
        call=lambda: engine_volumes.volume_remove(engine=engine, name=ref, force=force),
    )
    return action_done(
        request, message=f"Removed volume {ref}: {command}", fallback=reverse("volumes:list")
    )
