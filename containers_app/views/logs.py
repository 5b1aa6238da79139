"""Log pages: `docker logs -f` in the browser, merged logs, and the whole log as a file."""

import re

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from containers_app import cli
from containers_app.engine import NotFound
from containers_app.engine import containers as engine_containers
from containers_app.streams.logs import LogText
from containers_app.views.common import can_view, engine_for

COMPOSE_PROJECT = "com.docker.compose.project"
CONTAINER_ID = re.compile(r"^[0-9a-f]{12,64}$")
MAX_MERGED = 50


@can_view
@require_GET
def container_logs(request: HttpRequest, ref: str) -> HttpResponse:
    container = engine_containers.container_inspect(engine=engine_for(request), container_id=ref)
    context = {
        "c": container,
        "sources": [container],
        "socket_path": f"/ws/containers/{container.id}/logs/",
        "command": cli.docker("logs", "--follow", "--tail", "500", container.name),
        "download_url": f"{request.path}download/",
    }
    return render(request, "logs/page.html", context)


@can_view
@require_GET
def merged_logs(request: HttpRequest) -> HttpResponse:
    """Several containers' logs in one view: a selection (?c=…) or a compose project."""
    engine = engine_for(request)
    project = request.GET.get("project", "")
    refs = request.GET.getlist("c") + request.GET.getlist("ids")
    if project:
        rows = engine_containers.container_list(
            engine=engine, all=True, label=f"{COMPOSE_PROJECT}={project}"
        )
        refs = [row.id for row in rows]
    refs = list(dict.fromkeys(refs))
    if not refs or len(refs) > MAX_MERGED or not all(CONTAINER_ID.match(r) for r in refs):
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
    rows = engine_containers.container_list(engine=engine, ids=refs)
    missing = [ref for ref in refs if not any(row.id.startswith(ref) for row in rows)]
    if missing:
        raise NotFound(f"No such container: {missing[0]}", engine=engine.base_url)
    query = "&".join(f"c={row.id}" for row in rows)
    context = {
        "sources": rows,
        "socket_path": f"/ws/logs/?{query}",
        "project": project,
        "command": cli.merged_logs(project=project, containers=[row.name for row in rows]),
    }
    return render(request, "logs/page.html", context)


@can_view
@require_GET
def download_logs(request: HttpRequest, ref: str) -> StreamingHttpResponse:
    engine = engine_for(request)
    container = engine_containers.container_inspect(engine=engine, container_id=ref)
    timestamps = request.GET.get("timestamps") == "1"
    # An async iterator: Django would read a synchronous one whole before sending a byte.
    body = LogText(engine, container.id, tty=container.tty, timestamps=timestamps)
    response = StreamingHttpResponse(body, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{container.name}.log"'
    return response
