"""Volume pages: `docker volume ls`, `create`, `inspect` and `rm`. A team's member sees the
team's volumes; its admins create and remove them."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from containers_app import access, actions, cli
from containers_app.engine import Conflict, Engine, InvalidRequest, NotFound
from containers_app.engine import volumes as engine_volumes
from containers_app.forms import ForceForm, VolumeCreateForm, add_team_field, creation_arguments
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
from containers_app.views.errors import bad_request
from containers_app.views.objects import creatable_teams, found


def _create_form(request: HttpRequest, data=None) -> VolumeCreateForm:
    form = VolumeCreateForm(
        data,
        initial={"driver": "local"},
        any_volume=access.allowed(actor_of(request), access.ANY_VOLUME),
    )
    add_team_field(form, **creatable_teams(request))
    return form


def _list_page(request: HttpRequest, form: VolumeCreateForm, status: int = 200) -> HttpResponse:
    actor = actor_of(request)
    volumes = engine_volumes.volume_list(engine=engine_for(request))
    context = {
        "volumes": access.visible(actor, access.VOLUME, volumes),
        "actor": actor,
        "form": form,
        # Offered to whoever may create for some team; shown again with its error to anyone
        # who sent it.
        "may_create": bool(form.fields["team"].choices) or form.is_bound,
        "command": cli.docker("volume", "ls"),
    }
    return render_list(request, "volumes/list.html", "volumes/_rows.html", context, status)


@can_view
@require_GET
def volume_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, _create_form(request))


@can_view
@require_GET
def volume_detail(request: HttpRequest, ref: str) -> HttpResponse:
    volume = found(request, access.VOLUME, ref)
    context = {
        "volume": volume.obj,
        "may_remove": access.allowed(actor_of(request), access.ADMINISTER, volume.target),
        "inspect_command": cli.inspect("volume", volume.name),
        "remove_command": cli.volume_remove([volume.name]),
        "force_remove_command": cli.volume_remove([volume.name], force=True),
    }
    return render(request, "volumes/detail.html", context)


@can_change
@require_POST
def volume_create(request: HttpRequest) -> HttpResponse:
    form = _create_form(request, request.POST)
    if not form.is_valid():
        return _list_page(request, form, status=400)
    engine = engine_for(request)
    arguments = creation_arguments(form)
    command = cli.volume_create(**arguments)
    try:
        name = actions.perform_new(
            request,
            engine=engine,
            needs=access.ADMINISTER,
            on=access.Target(access.VOLUME, team=form.cleaned_data["team"] or None),
            action="volume create",
            target=arguments["name"] or "(new volume)",
            command=command,
            call=lambda: _create_new(engine, arguments),
            named=lambda created: created,
        )
    except (InvalidRequest, Conflict) as error:
        form.add_error(None, error.reason)
        return _list_page(request, form, status=409 if isinstance(error, Conflict) else 400)
    messages.success(request, f"Created volume {name}: {typed(request, command)}")
    return redirect(engine_url(request, "volumes:list"))


def _create_new(engine: Engine, arguments: dict) -> str:
    """`docker volume create`, refusing a name in use: the engine would hand that volume back
    as it is, with its owner's labels, and the new owner would think it theirs."""
    name = arguments["name"]
    if name:
        try:
            engine_volumes.volume_inspect(engine=engine, name=name)
        except NotFound:
            pass
        else:
            raise Conflict(f"A volume named {name} exists already.", engine=engine.base_url)
    return engine_volumes.volume_create(engine=engine, **arguments)


@changes_its_object
@require_POST
def volume_remove(request: HttpRequest, ref: str) -> HttpResponse:
    volume = found(request, access.VOLUME, ref)
    form = ForceForm(request.POST)
    if not form.is_valid():
        return bad_request(request, form)
    force = form.cleaned_data["force"]
    command = cli.volume_remove([volume.name], force=force)
    actions.perform(
        request,
        on=volume,
        needs=access.ADMINISTER,
        action="volume rm",
        command=command,
        call=lambda name: engine_volumes.volume_remove(
            engine=volume.engine, name=name, force=force
        ),
    )
    return action_done(
        request,
        message=f"Removed volume {volume.name}: {typed(request, command)}",
        fallback=engine_url(request, "volumes:list"),
    )
