"""The `docker stats` page: every running container the user may see, kept live over a
websocket."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from containers_app import access, cli
from containers_app.engine import containers as engine_containers
from containers_app.views.common import actor_of, can_view, engine_for


@can_view
@require_GET
def stats_page(request: HttpRequest) -> HttpResponse:
    rows = access.visible(
        actor_of(request),
        access.CONTAINER,
        engine_containers.container_list(engine=engine_for(request), state="running"),
    )
    context = {"containers": rows, "command": cli.docker("stats")}
    return render(request, "stats/page.html", context)
