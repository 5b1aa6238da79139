"""Registries: `docker login` checked by the engine, and which registry an address or image
reference names, by the docker CLI's own rules."""

import re

from containers_app.engine import raw
from containers_app.engine.client import Engine
from containers_app.engine.errors import EngineError, EngineUnavailable, InvalidRequest

# The address the CLI stores a Docker Hub login under and the engine expects in `serveraddress`
# and in the auth a pull or push of a Docker Hub image carries.
DOCKER_HUB = "https://index.docker.io/v1/"
# What people write for Docker Hub; the CLI maps all of them to DOCKER_HUB.
DOCKER_HUB_ALIASES = frozenset(
    {
        "",
        "docker.io",
        "index.docker.io",
        "registry-1.docker.io",
        "registry.hub.docker.com",
        "hub.docker.com",
    }
)
# A host name (labels of letters, digits and inner hyphens), an IPv4 address, or an IPv6 address
# in brackets, with an optional port. Nothing else: no user@, no path, no query.
HOST = re.compile(
    r"^(?P<host>\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
    r"(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*)(?::(?P<port>[0-9]{1,5}))?$"
)
SERVER_MAX_LENGTH = 255
# How engines before API 1.42 (Engine 20.10 among them) report a refused login: a 500 whose
# message carries the registry's status. Newer engines answer 401 themselves.
REFUSED = re.compile(r"\b401\b|unauthorized|incorrect username or password", re.IGNORECASE)


class InvalidServer(ValueError):
    """An address that is not a registry's host[:port]; the message says why."""


class LoginRefused(InvalidRequest):
    """The registry answered, and refused this username and password."""


class RegistryUnreachable(EngineError):
    """The engine could not reach the registry, or could not make sense of its answer."""


def normalise_server(server: str) -> str:
    """The address a login is stored under, as the docker CLI normalises it: Docker Hub's
    aliases become DOCKER_HUB; others lose their scheme and trailing slash and are lower-cased
    (host names are not case-sensitive), and must be host[:port]."""
    text = server.strip()
    lowered = text.lower()
    for scheme in ("https://", "http://"):
        if lowered.startswith(scheme):
            lowered = lowered[len(scheme) :]
            break
    lowered = lowered.rstrip("/")
    if lowered in DOCKER_HUB_ALIASES or lowered == "index.docker.io/v1":
        return DOCKER_HUB
    if len(lowered) > SERVER_MAX_LENGTH:
        raise InvalidServer(f"A registry address has at most {SERVER_MAX_LENGTH} characters.")
    if "/" in lowered or "@" in lowered or "?" in lowered or "#" in lowered:
        raise InvalidServer(
            f"{text} is not a registry address: write its host and port only, e.g. "
            "registry.example.com or 127.0.0.1:5000, without a path."
        )
    match = HOST.fullmatch(lowered)
    if not match:
        raise InvalidServer(
            f"{text} is not a registry address: a host name, an IP address or [IPv6], "
            "and an optional :port."
        )
    port = match.group("port")
    if port is not None and not 0 < int(port) < 65536:
        raise InvalidServer(f"{port} is not a port: ports are 1 to 65535.")
    return lowered


def _names_a_registry(component: str) -> bool:
    """Docker's rule for the first path component of a reference."""
    return "." in component or ":" in component or component == "localhost"


def registry_of(reference: str) -> str:
    """The registry an image reference points at, normalised as logins are stored: the first
    path component if it contains "." or ":" or is "localhost" (docker's rule), else Docker
    Hub. `busybox`, `library/busybox:1` and `docker.io/library/busybox` are Docker Hub's;
    `127.0.0.1:5000/x:1` and `ghcr.io/owner/app` name their registries."""
    first, slash, _ = reference.strip().partition("/")
    if not slash or not _names_a_registry(first):
        return DOCKER_HUB
    try:
        return normalise_server(first)
    except InvalidServer:
        # Not a host the engine could reach either; no stored login can be meant for it.
        return first.lower()


def registry_login(*, engine: Engine, server: str, username: str, password: str) -> None:
    """Asks the engine to log in to `server` (`POST /auth`), which checks the credentials with
    the registry and keeps nothing: unlike the SDK's `login`, no client caches them, so no
    other user's pull or push can borrow them. Raises LoginRefused, RegistryUnreachable, or
    EngineUnavailable when the engine itself does not answer."""
    body = {"username": username, "password": password, "serveraddress": server}
    try:
        raw.request_json(engine, "POST", "/auth", body=body)
    except EngineUnavailable:
        raise
    except EngineError as error:
        # The engine's message names the registry's URL and status, never the password; it is
        # blanked all the same in case some registry echoes what it was sent.
        # `from None`: the original error, which would carry the unblanked text, is not kept.
        reason = error.reason.replace(password, "********") if password else error.reason
        if REFUSED.search(reason):
            raise LoginRefused(reason, engine=error.engine) from None
        if isinstance(error, InvalidRequest):
            raise InvalidRequest(reason, engine=error.engine) from None
        raise RegistryUnreachable(reason, engine=error.engine) from None
