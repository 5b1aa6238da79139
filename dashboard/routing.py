"""Websocket routes. Consumers live in containers_app/consumers/."""

from channels.routing import URLRouter
from django.urls import path, re_path

from containers_app.consumers.audit import AuditConsumer
from containers_app.consumers.execs import ExecConsumer
from containers_app.consumers.jobs import JobConsumer
from containers_app.consumers.live import LiveConsumer
from containers_app.consumers.logs import LogsConsumer
from containers_app.consumers.screens import ScreenConsumer
from containers_app.consumers.stats import StatsConsumer
from containers_app.views.common import REF

# About one engine: under ws/engines/<slug>/, and at today's addresses for the default one.
engine_routes = [
    re_path(rf"^containers/{REF}/logs/$", LogsConsumer.as_asgi()),
    path("logs/", LogsConsumer.as_asgi()),
    re_path(rf"^containers/{REF}/exec/$", ExecConsumer.as_asgi()),
    path("live/", LiveConsumer.as_asgi()),
    path("stats/", StatsConsumer.as_asgi()),
]

websocket_urlpatterns = [
    path("ws/engines/<slug:engine>/", URLRouter(engine_routes)),
    path("ws/", URLRouter(engine_routes)),
    path("ws/jobs/<int:job_id>/", JobConsumer.as_asgi()),
    path("ws/audit/", AuditConsumer.as_asgi()),
    path("ws/screen/", ScreenConsumer.as_asgi()),
]
