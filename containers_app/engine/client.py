"""One low-level API client per engine, built on first use and reused by every request."""

import threading
from dataclasses import dataclass

import docker
from django.conf import settings

from containers_app.engine.errors import translated


@dataclass(frozen=True)
class Engine:
    """A Docker Engine Berth manages; `name` appears in URLs and stream names later on."""

    name: str
    base_url: str
    timeout: int = 30


def default_engine() -> Engine:
    return Engine(name="local", base_url=settings.DOCKER_HOST, timeout=settings.DOCKER_TIMEOUT)


_clients: dict[Engine, docker.APIClient] = {}
_lock = threading.Lock()
# One lock per engine while its client is built (a network call): an engine that does not
# answer holds up only its own first requests.
_building: dict[Engine, threading.Lock] = {}


def api(engine: Engine) -> docker.APIClient:
    """The cached client; building it asks the engine its API version, so it may raise."""
    client = _clients.get(engine)
    if client is not None:
        return client
    with _lock:
        building = _building.setdefault(engine, threading.Lock())
    with building:
        client = _clients.get(engine)
        if client is None:
            with translated(engine.base_url):
                # max_pool_size: concurrent requests each get a connection instead of waiting.
                client = docker.APIClient(
                    base_url=engine.base_url,
                    version="auto",
                    timeout=engine.timeout,
                    max_pool_size=32,
                )
                if engine.base_url.startswith(("unix:", "http+unix:")):
                    # No proxy is ever in the way of a unix socket: skip requests' search of
                    # the environment for one on every call.
                    client.trust_env = False
            _clients[engine] = client
    return client


def forget(engine: Engine) -> None:
    """Drops the cached client, so the next call builds a fresh one."""
    with _lock:
        client = _clients.pop(engine, None)
    if client is not None:
        client.close()
