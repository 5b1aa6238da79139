"""The exec terminal page: `docker exec -it <container> <command>` in the browser.

A GET shows the form and runs nothing. Pressing Open posts it (with the CSRF token); the
answer holds a single-use ticket for exactly what was asked, which the page's websocket
presents to start the terminal.
"""

from collections.abc import Sequence

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from containers_app import access, actions, cli, tickets
from containers_app.engine import EngineError
from containers_app.engine import execs as engine_execs
from containers_app.forms import ExecForm
from containers_app.views.common import changes_its_object, socket_path
from containers_app.views.objects import found as found_object


@changes_its_object
@require_http_methods(["GET", "POST"])
def container_exec(request: HttpRequest, ref: str) -> HttpResponse:
    """A terminal needs OPERATE on the container: another team's is not found (404), one the
    user only looks at is refused (403, recorded as denied)."""
    found = found_object(request, access.CONTAINER, ref)
    engine, container = found.engine, found.obj
    actions.check(
        request,
        needs=access.OPERATE,
        on=found,
        action="exec",
        command=cli.docker("exec", "-it", container.name),
    )
    form = ExecForm(request.POST if request.method == "POST" else None)
    context = {"c": container, "form": form}
    if request.method == "GET":
        return render(request, "containers/exec.html", context)
    if not container.running or container.paused:
        return render(request, "containers/exec.html", context, status=409)
    if not form.is_valid():
        return render(request, "containers/exec.html", context, status=400)
    data = form.cleaned_data
    context |= terminal_context(
        request,
        engine,
        container,
        command=data["cmd"],
        user=data["user"],
        workdir=data["workdir"],
    )
    return render(request, "containers/exec.html", context)


def terminal_context(
    request: HttpRequest,
    engine,
    container,
    *,
    command: Sequence[str] = (),
    user: str = "",
    workdir: str = "",
) -> dict:
    """What containers/exec.html needs to open a terminal at once: a single-use ticket for
    `command` (the default shell if empty) in a running container. Only a CSRF-checked POST
    may ask for it: the ticket lets the page's websocket run the command."""
    command = list(command) or [_default_shell(engine, container.id)]
    return {
        "cli_command": cli.exec_terminal(container.name, command, user=user, workdir=workdir),
        "ticket": tickets.issue(
            user_id=request.user.pk,
            container_id=container.id,
            command=command,
            user=user,
            workdir=workdir,
        ),
        "socket_path": socket_path(request, f"containers/{container.id}/exec/"),
    }


def _default_shell(engine, container_id: str) -> str:
    """bash if the image has it, else sh (as `docker exec -it … bash || sh` would)."""
    try:
        code, _ = engine_execs.exec_output(
            engine=engine, container_id=container_id, command=["sh", "-c", "command -v bash"]
        )
    except EngineError:
        return "sh"  # no sh in the image either: sh fails to start and the page says so
    return "bash" if code == 0 else "sh"
