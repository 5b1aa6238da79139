"""The private remote engines of scripts/test-remote-engines (TCP with TLS, and SSH) as tests
register them in Berth, with a client on each one's own unix socket for arranging and checking
what a test needs."""

import contextlib
from pathlib import Path

import docker
import docker.errors

from containers_app import engines
from tests.conftest import (
    HOME_TEAM,
    STOPPABLE,
    TEST_IMAGE,
    remote_credentials,
    remote_engine,
    unique,
)

REMOTE_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "test-remote-engines"
KINDS = ("tls", "ssh")


def address_of(kind: str) -> str:
    return remote_engine("TLS_HOST" if kind == "tls" else "SSH_HOST")


class Remote:
    """A remote engine registered in Berth, and a client on its own unix socket for arranging
    and checking what a test needs (never through Berth)."""

    def __init__(self, kind: str, *, wrong: bool = False, teams=(), every_team: bool = True):
        self.kind = kind
        self.slug = unique(kind)
        self.engine = engines.engine_add(
            slug=self.slug,
            address=address_of(kind),
            given=remote_credentials(kind, wrong=wrong),
            teams=list(teams),
            every_team=every_team,
        )
        socket = remote_engine("TLS_SOCKET" if kind == "tls" else "SSH_SOCKET")
        self.api = docker.APIClient(base_url=socket, version="auto", timeout=60)
        self.made: list[str] = []

    def container(self, script: str = "", *, team: str = HOME_TEAM, labels=None) -> dict:
        """A running container of `team` on this engine: `script` for sh, or one that
        stops at once when asked."""
        labels = {**(labels or {}), **({"berth.team": team} if team else {})}
        command = ["sh", "-c", script] if script else STOPPABLE
        made = self.api.create_container(
            TEST_IMAGE, command=command, name=unique("c"), labels=labels
        )
        self.made.append(made["Id"])
        self.api.start(made["Id"])
        return self.api.inspect_container(made["Id"])

    def remove(self) -> None:
        for container_id in self.made:
            with contextlib.suppress(docker.errors.APIError):
                self.api.remove_container(container_id, force=True)
        for name in self.api.containers(all=True, filters={"label": "berth.team"}):
            if any(n.lstrip("/").startswith("berthtest-") for n in name["Names"]):
                with contextlib.suppress(docker.errors.APIError):
                    self.api.remove_container(name["Id"], force=True)
        self.api.close()
        with contextlib.suppress(engines.NoSuchEngine):
            engines.engine_remove(slug=self.slug)
