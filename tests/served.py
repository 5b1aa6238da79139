"""Berth served by daphne in a subprocess, as `make run` serves it, for the tests that need a
real server: the browser tests and the download pacing tests. It has a data folder and SQLite
file of its own and runs on the test engine.

Not pytest-django's `live_server`: that one speaks WSGI only, and the pages open websockets.
"""

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import test_docker_host

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Server:
    url: str
    port: int
    pid: int
    username: str
    password: str
    log: Path


def _manage(env: dict, *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True
    )


def _wait_until_serving(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daphne exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/accounts/login/", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"daphne did not serve {url} within 30 s:\n{log.read_text()}")


@contextlib.contextmanager
def served(data: Path) -> Iterator[Server]:
    """Berth on a free loopback port with one admin to sign in as; stopped afterwards."""
    username, password = f"admin-{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    env = {
        **os.environ,
        "BERTH_DATA_DIR": str(data),
        "DOCKER_HOST": test_docker_host(),
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SUPERUSER_USERNAME": username,
        "DJANGO_SUPERUSER_PASSWORD": password,
    }
    # Never the user's own database, whatever their environment names.
    for name in ("BERTH_DATABASE", "DATABASE_URL"):
        env.pop(name, None)
    _manage(env, "migrate", "--noinput")
    _manage(env, "ensure_admin")
    # The socket is bound here and handed over, so the port is known and cannot be taken.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    log = data / "daphne.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "daphne"),
                "--fd",
                str(listener.fileno()),
                "dashboard.asgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            pass_fds=[listener.fileno()],
        )
    listener.close()
    try:
        _wait_until_serving(url, process, log)
        yield Server(url, port, process.pid, username, password, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
