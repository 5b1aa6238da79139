"""ASGI entry point: HTTP through Django, websockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from containers_app.backpressure import FlowControl  # noqa: E402
from containers_app.consumers.auth import SessionAuthMiddleware  # noqa: E402
from containers_app.consumers.origin import SameOriginValidator  # noqa: E402
from dashboard.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        # A streamed download goes at the client's pace instead of piling up in daphne.
        "http": FlowControl(django_asgi_app),
        "websocket": SameOriginValidator(SessionAuthMiddleware(URLRouter(websocket_urlpatterns))),
    }
)
