"""A second private Docker Engine that tests may stop and restart without disturbing the
shared test engine other tests are using.

scripts/test-engine starts it as it starts the shared one, in a network namespace of its own,
with its own socket, data and exec roots and pidfile, all under /tmp/berth-engine-<name>.
"""

import contextlib
import fcntl
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Self

import docker

from tests.conftest import TEST_IMAGE, test_docker_host, unique

TEST_ENGINE_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "test-engine"


class SecondEngine:
    """A private dockerd of the tests' own. They only ever remove the containers they made
    on it; use it inside `running()`, which starts it and afterwards cleans up and stops it."""

    def __init__(self, name: str, *, live_restore: bool = False) -> None:
        self.directory = Path(f"/tmp/berth-engine-{name}")
        self.address = f"unix://{self.directory / 'docker.sock'}"
        # Held while the engine is in use, so two test runs never stop each other's engine;
        # outside the directory, which the engine's start makes.
        self.lock_path = Path(f"/tmp/berth-engine-{name}.lock")
        self.env = {
            "BERTH_ENGINE_DIR": str(self.directory),
            "BERTH_ENGINE_LIVE_RESTORE": "1" if live_restore else "0",
        }
        self.containers: list[str] = []

    def _script(self, verb: str) -> None:
        result = subprocess.run(
            [str(TEST_ENGINE_SCRIPT), verb],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"test-engine {verb}: {result.stderr}"

    def start(self) -> None:
        """Starts the engine; does nothing if it is already running."""
        self._script("start")

    def stop(self) -> None:
        self._script("stop")

    def pid(self) -> int:
        return int((self.directory / "dockerd.pid").read_text())

    def restart(self) -> None:
        self.stop()
        self.start()

    def api(self) -> docker.APIClient:
        return docker.APIClient(base_url=self.address, version="auto", timeout=60)

    def container(self, command: str | list[str] = "true", *, start: bool = False) -> dict:
        """A container of the test image, removed afterwards; returns its inspect. Left
        created (no process) unless `start`, so stopping the engine never waits on it."""
        with self.api() as api:
            created = api.create_container(TEST_IMAGE, command=command, name=unique("c"))
            self.containers.append(created["Id"])
            if start:
                api.start(created["Id"])
            return api.inspect_container(created["Id"])

    def remove_made(self) -> None:
        with self.api() as api:
            for container_id in self.containers:
                with contextlib.suppress(docker.errors.NotFound):
                    api.remove_container(container_id, force=True)
        self.containers.clear()

    @contextlib.contextmanager
    def running(self) -> Iterator[Self]:
        """The engine, started and locked for this test run; afterwards (however the tests
        ended) the containers they made are removed and the engine is stopped."""
        assert self.address != test_docker_host(), "the second engine is the shared one"
        with self.lock_path.open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self.start()
                yield self
            finally:
                self._clean_up()

    def _clean_up(self) -> None:
        # The tests may have left the engine down. Its containers go before it stops: with
        # live-restore they would outlive it.
        try:
            if self.containers:
                self.start()
                self.remove_made()
        finally:
            self.stop()
