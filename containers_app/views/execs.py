"""The exec terminal page: `docker exec -it <container> <command>` in the browser."""

import shlex

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from containers_app import cli, tickets
from containers_app.engine import EngineError
from containers_app.engine import containers as engine_containers
from containers_app.engine import execs as engine_execs
from containers_app.views.common import can_change, engine_for


@can_change
@require_GET
def container_exec(request: HttpRequest, ref: str) -> HttpResponse:
    engine = engine_for(request)
    container = engine_containers.container_inspect(engine=engine, container_id=ref)
    has_bash = False
    if container.running and not container.paused:
        try:
            code, _ = engine_execs.exec_output(
                engine=engine, container_id=container.id, command=["sh", "-c", "command -v bash"]
            )
            has_bash = code == 0
        except EngineError:
            pass  # no sh in the image: the person types a command
    command = request.GET.get("cmd", "").strip() or ("bash" if has_bash else "sh")
    user = request.GET.get("user", "").strip()
    workdir = request.GET.get("workdir", "").strip()
    words = ["exec", "-it"] + ["-u", user] * bool(user) + ["-w", workdir] * bool(workdir)
    try:
        shown = cli.docker(*words, container.name, *shlex.split(command))
    except ValueError:
        shown = cli.docker(*words, container.name, command)
    context = {
        "c": container,
        "command": command,
        "exec_user": user,
        "workdir": workdir,
        "suggestions": ["bash", "sh"] if has_bash else ["sh"],
        "cli_command": shown,
        "ticket": tickets.issue(user_id=request.user.pk, container_id=container.id),
        "socket_path": f"/ws/containers/{container.id}/exec/",
    }
    return render(request, "containers/exec.html", context)
