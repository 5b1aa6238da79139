"""Websockets are opened only by Berth's own pages: the handshake's Origin must be the site
itself, scheme, host and port, or one of DJANGO_CSRF_TRUSTED_ORIGINS.

Channels' AllowedHostsOriginValidator compares host names only, so a page served on any
other port of the same host (another local service, a container publishing a port) could
open a websocket with the user's cookie. Browsers send the cookie to every port of a host.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import is_same_domain, validate_host

# The code a websocket refused for its origin is closed with; the handshake never completes.
CLOSE_FOREIGN_ORIGIN = 4403
DEFAULT_PORTS = {"http": 80, "https": 443}


def _header(scope: dict, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return ""


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin such as https://berth.example.org:8443."""
    try:
        parts = urlsplit(url.strip().lower())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme]


def _site_scheme(scope: dict) -> str:
    """The scheme the browser used: the connection's, or the proxy's when Berth trusts it."""
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy_header:
        name, secure_value = proxy_header
        header = name.lower().removeprefix("http_").replace("_", "-").encode()
        if _header(scope, header).split(",")[0].strip() == secure_value:
            return "https"
    return "https" if scope.get("scheme") in ("wss", "https") else "http"


def _trusted(origin: tuple[str, str, int]) -> bool:
    """Whether `origin` is one of CSRF_TRUSTED_ORIGINS, which may name subdomains as
    https://*.example.org, as Django's CSRF check reads them."""
    for pattern in settings.CSRF_TRUSTED_ORIGINS:
        subdomains = "://*." in pattern
        trusted = _origin(pattern.replace("://*.", "://", 1))
        if trusted is None or (trusted[0], trusted[2]) != (origin[0], origin[2]):
            continue
        if origin[1] == trusted[1] or (subdomains and is_same_domain(origin[1], "." + trusted[1])):
            return True
    return False


def same_origin(scope: dict) -> bool:
    origin = _origin(_header(scope, b"origin"))
    host = _header(scope, b"host")
    if origin is None or not host or not validate_host(host.split(":")[0], settings.ALLOWED_HOSTS):
        return False
    if _trusted(origin):
        return True
    return origin == _origin(f"{_site_scheme(scope)}://{host}")


class SameOriginValidator:
    """Refuses every websocket whose Origin is not the site's own."""

    def __init__(self, inner) -> None:
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if same_origin(scope):
            return await self.inner(scope, receive, send)
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.close", "code": CLOSE_FOREIGN_ORIGIN})
        return None
