"""The system page: `docker version`, `docker info` and `docker system df`."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from containers_app import cli
from containers_app.engine import system as engine_system
from containers_app.views.common import can_view, engine_for


@can_view
@require_GET
def system_info(request: HttpRequest) -> HttpResponse:
    system = engine_system.system_info(engine=engine_for(request))
    context = {
        "system": system,
        "version": system.version,
        "info": system.info,
        "commands": [cli.docker("version"), cli.docker("info"), cli.docker("system", "df")],
    }
    return render(request, "system/info.html", context)
