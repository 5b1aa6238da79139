"""Websocket routes. Consumers live in containers_app/consumers/."""

from django.urls import path, re_path

from containers_app.consumers.audit import AuditConsumer
from containers_app.consumers.execs import ExecConsumer
from containers_app.consumers.jobs import JobConsumer
from containers_app.consumers.live import LiveConsumer
from containers_app.consumers.logs import LogsConsumer
from containers_app.consumers.screens import ScreenConsumer
from containers_app.consumers.stats import StatsConsumer
from containers_app.views.common import REF

websocket_urlpatterns = [
    re_path(rf"^ws/containers/{REF}/logs/$", LogsConsumer.as_asgi()),
    path("ws/logs/", LogsConsumer.as_asgi()),
    re_path(rf"^ws/containers/{REF}/exec/$", ExecConsumer.as_asgi()),
    path("ws/live/", LiveConsumer.as_asgi()),
    path("ws/stats/", StatsConsumer.as_asgi()),
    path("ws/jobs/<int:job_id>/", JobConsumer.as_asgi()),
    path("ws/audit/", AuditConsumer.as_asgi()),
    path("ws/screen/", ScreenConsumer.as_asgi()),
]
