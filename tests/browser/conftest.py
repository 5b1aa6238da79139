"""Browser fixtures: Debian's chromium, driven by Playwright, against Berth served by daphne.

The server is a subprocess running what `make run` runs (daphne, dashboard.asgi), not
pytest-django's `live_server`: that one speaks WSGI only, and the pages open websockets. The
server has its own data folder and SQLite file, so the tests never touch Django's database
from the main thread, where Playwright's sync API keeps an asyncio loop running.
"""

import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from tests.conftest import test_docker_host

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Playwright's short default waits for in-page changes; engine actions such as stop take longer.
TIMEOUT_MS = 20_000
expect.set_options(timeout=TIMEOUT_MS)


@dataclass(frozen=True)
class Server:
    url: str
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


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[Server]:
    """Berth on a free loopback port, on the test engine, with one admin to sign in as."""
    data = tmp_path_factory.mktemp("berth-data")
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
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
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
        yield Server(url=url, username=username, password=password, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope: Playwright's loop on the main thread ends with the last browser test, so
    # the Django tests that may run after it keep their async-safety checks.
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Console:
    """What the page logged as an error or warning, and which of those a test expects."""

    errors: list[str] = field(default_factory=list)
    expected: list[re.Pattern] = field(default_factory=list)

    def expect(self, pattern: str) -> None:
        self.expected.append(re.compile(pattern))

    def on_message(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.errors.append(f"console.{message.type}: {message.text} ({message.location})")

    def on_page_error(self, error: Exception) -> None:
        self.errors.append(f"pageerror: {error}")

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.expected)]


@pytest.fixture
def console() -> Console:
    return Console()


def new_page(browser: Browser, server: Server, console: Console, **context_options) -> Page:
    """A page in a fresh context (no cookies) that reports what it logs to `console`."""
    options = {"viewport": {"width": 1400, "height": 900}, "base_url": server.url}
    context = browser.new_context(**(options | context_options))
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.on("console", console.on_message)
    page.on("pageerror", console.on_page_error)
    return page


def sign_in(page: Page, server: Server) -> None:
    """Through the sign-in form with the admin's username and password, as a person would."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(server.username)
    page.get_by_label("Password").fill(server.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/containers/"))


@pytest.fixture
def page(browser, server, console) -> Iterator[Page]:
    """Fails the test if the page logged an error it did not expect."""
    page = new_page(browser, server, console)
    yield page
    page.context.close()
    assert not console.unexpected(), console.unexpected()


@pytest.fixture
def signed_in(page, server) -> Page:
    sign_in(page, server)
    return page


@pytest.fixture(scope="session")
def screenshots_dir() -> Path:
    path = ARTIFACTS / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path
