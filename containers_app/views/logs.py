"""Log pages: `docker logs -f` in the browser, merged logs, and the whole log as a file. Only
of containers whose logs the user may read; another team's container is not found."""

import re

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from containers_app import access, cli, find
from containers_app.engine import containers as engine_containers
from containers_app.engine.containers import ContainerDetail
from containers_app.find import Found
from containers_app.streams.logs import LogText
from containers_app.views.common import actor_of, can_view, engine_for, refused, socket_path
from containers_app.views.objects import found

COMPOSE_PROJECT = access.PROJECT_LABEL
CONTAINER_ID = re.compile(r"^[0-9a-f]{12,64}$")
MAX_MERGED = 50
LOGS_REFUSED = "Your account may not read this container's log."


def _readable(request: HttpRequest, ref: str) -> ContainerDetail:
    """The container `ref`, if the actor may read its log: one they may not see is a 404,
    one they see but may not read (a screen without logs) a 403."""
    container = found(request, access.CONTAINER, ref)
    if not access.allowed(actor_of(request), access.LOGS, container.target):
        raise refused(request, LOGS_REFUSED)
    return container.obj


@can_view
@require_GET
def container_logs(request: HttpRequest, ref: str) -> HttpResponse:
    container = _readable(request, ref)
    context = {
        "c": container,
        "sources": [container],
        "socket_path": socket_path(request, f"containers/{container.id}/logs/"),
        "command": cli.docker("logs", "--follow", "--tail", "500", container.name),
        "download_url": f"{request.path}download/",
    }
    return render(request, "logs/page.html", context)


def _choose_containers(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "error.html",
        {
            "status": 400,
            "title": "Choose containers",
            "reason": f"Name one to {MAX_MERGED} container ids (?c=<id>&c=<id>) or a "
            "compose project (?project=<name>) that has containers.",
        },
        status=400,
    )


@can_view
@require_GET
def merged_logs(request: HttpRequest) -> HttpResponse:
    """Several containers' logs in one view: a selection (?c=…) or a compose project; only
    containers whose logs the actor may read."""
    engine = engine_for(request)
    actor = actor_of(request)

    def readable(row) -> bool:
        return access.allowed(actor, access.LOGS, access.Target(access.CONTAINER, row.labels))

    project = request.GET.get("project", "")
    refs = request.GET.getlist("c") + request.GET.getlist("ids")
    whole_project = bool(project)
    if project:
        rows = engine_containers.container_list(
            engine=engine, all=True, label=f"{COMPOSE_PROJECT}={project}"
        )
        # A project's containers of other teams are left out, as if they were not there;
        # `docker compose logs` would show them, so the command names those shown instead.
        refs = [row.id for row in rows if readable(row)]
        whole_project = len(refs) == len(rows)
    refs = list(dict.fromkeys(refs))
    if not refs or len(refs) > MAX_MERGED or not all(CONTAINER_ID.match(r) for r in refs):
        return _choose_containers(request)
    results = find.find_many_containers(actor, engine, refs)
    for ref, result in results.items():
        # Another team's container, or one whose log the actor may not read, is as missing
        # as one that is not there.
        if not isinstance(result, Found) or not readable(result.obj):
            raise find.missing(engine, access.CONTAINER, ref)
    rows = list({result.id: result.obj for result in results.values()}.values())
    query = "&".join(f"c={row.id}" for row in rows)
    context = {
        "sources": rows,
        "socket_path": socket_path(request, f"logs/?{query}"),
        "project": project,
        "command": cli.merged_logs(
            project=project if whole_project else "", containers=[row.name for row in rows]
        ),
    }
    return render(request, "logs/page.html", context)


@can_view
@require_GET
def download_logs(request: HttpRequest, ref: str) -> StreamingHttpResponse:
    engine = engine_for(request)
    container = _readable(request, ref)
    timestamps = request.GET.get("timestamps") == "1"
    # An async iterator: Django would read a synchronous one whole before sending a byte.
    body = LogText(engine, container.id, tty=container.tty, timestamps=timestamps)
    response = StreamingHttpResponse(body, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{container.name}.log"'
    return response
