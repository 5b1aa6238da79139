"""Registry logins: `docker login` (checked by the engine, then kept encrypted for the user's
own pulls and pushes) and `docker logout`. A login is its owner's: they see it and may always
forget it; a superuser sees and removes anyone's. Storing one is for those who may pull and
push (a team's admins), the only ones who would use it."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from containers_app import access, actions, audit, cli, credentials, engines
from containers_app.engine import InvalidRequest
from containers_app.engine import registries as engine_registries
from containers_app.forms import RegistryLoginForm
from containers_app.views.common import action_done, actor_of, can_change, engine_for
from containers_app.views.images import origin_teams, refuse_registry

# What a login is for: pulling and pushing images, which a team's admins do (views/images.py).
IMAGES = access.Target(access.IMAGE)
NO_ENGINE = (
    "None of your teams may use an engine, so no registry can be asked: a superuser grants "
    "one on the Engines page."
)


def _list_page(request: HttpRequest, form: RegistryLoginForm, status: int = 200) -> HttpResponse:
    rows = [
        {
            "id": credential.pk,
            "server": credential.server,
            "hub": credential.server == engine_registries.DOCKER_HUB,
            "username": credential.username,
            "owner": credential.owner.get_username(),
            "logged_in": timezone.localtime(credential.created).strftime("%Y-%m-%d %H:%M"),
            "logout_command": cli.registry_logout(credential.server),
        }
        for credential in credentials.visible_to(request.user)
    ]
    context = {
        "logins": rows,
        "form": form,
        "show_owner": access.administers_host(request.user),
        "may_log_in": access.allowed(actor_of(request), access.ADMINISTER, IMAGES),
    }
    return render(request, "registries/list.html", context, status=status)


@can_change
@require_GET
def registry_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, RegistryLoginForm())


@can_change
@require_POST
def registry_login(request: HttpRequest) -> HttpResponse:
    form = RegistryLoginForm(request.POST)
    if not form.is_valid():
        return _list_page(request, form, status=400)
    server, username = form.cleaned_data["server"], form.cleaned_data["username"]
    password = form.cleaned_data["password"]
    # The registry is asked through an engine the user may use, as `docker login` would.
    engine = engines.home_of(request.user)
    if engine is None:
        form.add_error(None, NO_ENGINE)
        return _list_page(request, form, status=400)
    command = cli.registry_login(server, username)
    refuse_registry(
        request,
        server=server,
        teams_of=origin_teams(request),
        action="login",
        command=command,
        engine=engine,
    )
    try:
        # Checked before anything is stored: a login kept is one the registry accepted.
        actions.perform_new(
            request,
            engine=engine,
            needs=access.ADMINISTER,
            on=IMAGES,
            action="login",
            target=server,
            command=command,
            call=lambda: engine_registries.registry_login(
                engine=engine, server=server, username=username, password=password
            ),
        )
    except (InvalidRequest, engine_registries.RegistryUnreachable) as error:
        # Not the engine's words: they tell how the connection failed (refused, timed out,
        # no TLS), which would make the login form a scanner of the engine's network.
        form.add_error(None, f"Could not reach or sign in to the registry {server}.")
        status = 400 if isinstance(error, InvalidRequest) else 503
        return _list_page(request, form, status=status)
    credentials.store(owner=request.user, server=server, username=username, password=password)
    messages.success(request, f"Logged in to {server} as {username}: {command}")
    return redirect("registries:list")


@can_change
@require_POST
def registry_logout(request: HttpRequest, credential_id: int) -> HttpResponse:
    # Someone else's login is a 404, not a 403: its existence is not theirs to learn.
    credential = get_object_or_404(credentials.visible_to(request.user), pk=credential_id)
    server = credential.server
    target = server
    if credential.owner_id != request.user.pk:
        target = f"{server} (login of {credential.owner.get_username()})"
    command = cli.registry_logout(server)
    engine = engines.home_of(request.user) or engine_for(request)
    # No engine call: like `docker logout`, forgetting a login is the client's alone.
    if credential.owner_id == request.user.pk:
        # One's own: its owner may always forget it, whatever their role has become. Audited
        # as every change is.
        credential.delete()
        audit.record(request, engine=engine, action="logout", target=target, command=command)
    else:
        actions.perform_new(
            request,
            engine=engine,
            needs=access.ANY_CREDENTIAL,
            on=IMAGES,
            action="logout",
            target=target,
            command=command,
            call=credential.delete,
        )
    return action_done(
        request, message=f"Logged out of {server}: {command}", fallback=reverse("registries:list")
    )
