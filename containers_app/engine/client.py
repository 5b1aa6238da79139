"""One low-level API client per engine, built on first use and reused by every request."""

import threading
from dataclasses import dataclass

import docker

from containers_app.engine import ssh, tls
from containers_app.engine.errors import EngineUnavailable, translated

# What an SSH connection's pool may hold: sshd allows 10 sessions per connection by default,
# and each pooled HTTP connection is one. Streams take connections of their own (ssh.py).
SSH_POOL_SIZE = 6


@dataclass(frozen=True)
class Engine:
    """A Docker Engine Berth manages, as engines.py builds it from its row: `slug` names it
    in URLs, stream keys and the database; `base_url` is its address (unix://, tcp://,
    ssh://). `tls_*` and `ssh_key` are paths of the files engines.py wrote; `ssh_host_key`
    the pinned host key's fingerprint. `revision` changes with the row, so a changed engine
    gets a new client."""

    slug: str
    base_url: str
    name: str = ""
    timeout: int = 30
    tls_ca: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    ssh_key: str = ""
    ssh_host_key: str = ""
    # The docker context that reaches it on its users' machines (commands shown name it).
    cli_context: str = ""
    revision: str = ""
    # Why no call can reach it, known before trying (its stored keys cannot be read).
    unusable: str = ""
    # The teams that may use it (their slugs), or every team; superusers use every engine.
    teams: frozenset[str] = frozenset()
    every_team: bool = False

    def granted(self, team: str) -> bool:
        return self.every_team or team in self.teams

    @property
    def scheme(self) -> str:
        return self.base_url.split("://", 1)[0]

    @property
    def title(self) -> str:
        return self.name or self.slug


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
                client = _build(engine)
            _clients[engine] = client
    return client


def _build(engine: Engine) -> docker.APIClient:
    if engine.unusable:
        raise EngineUnavailable(engine.unusable, engine=engine.base_url)
    # max_pool_size: concurrent requests each get a connection instead of waiting.
    if engine.scheme == "ssh":
        return ssh.api_client(engine, timeout=engine.timeout, pool_size=SSH_POOL_SIZE)
    if engine.scheme in ("tcp", "https", "http") and engine.tls_ca:
        return tls.api_client(engine, timeout=engine.timeout, pool_size=32)
    client = docker.APIClient(
        base_url=engine.base_url, version="auto", timeout=engine.timeout, max_pool_size=32
    )
    # Nothing the environment says applies to an engine: no proxy is ever in the way of a
    # unix socket, and a CA bundle named there must not replace the engine's own.
    client.trust_env = False
    return client


def forget(engine: Engine) -> None:
    """Drops the cached client, so the next call builds a fresh one (a dropped SSH
    connection is never made again by the client that had it)."""
    with _lock:
        client = _clients.pop(engine, None)
    if client is not None:
        client.close()


def forget_slug(slug: str) -> None:
    """Drops every client of the engine named `slug`, whatever its revision."""
    with _lock:
        stale = [engine for engine in _clients if engine.slug == slug]
    for engine in stale:
        forget(engine)
    ssh.forget_streams(slug)
