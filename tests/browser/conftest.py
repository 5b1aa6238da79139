"""Browser fixtures: Debian's chromium, driven by Playwright, against Berth served by daphne.

The server is a subprocess running what `make run` runs (tests/served.py), with its own data
folder and SQLite file, so the tests never touch Django's database from the main thread, where
Playwright's sync API keeps an asyncio loop running.
"""

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from tests.conftest import remote_engine, unique
from tests.conftest import test_docker_host as docker_host
from tests.served import ROOT, Server, served

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


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[Server]:
    """Berth on a free loopback port, on the test engine, with one admin to sign in as."""
    with served(tmp_path_factory.mktemp("berth-data")) as running:
        yield running


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


def manage(server: Server, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """`python manage.py ...` on the served Berth's own data folder and database; a failure
    fails the test (with what it said) unless `check` is off."""
    env = {
        **os.environ,
        "BERTH_DATA_DIR": str(server.log.parent),
        "DOCKER_HOST": docker_host(),
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
    }
    for name in ("BERTH_DATABASE", "DATABASE_URL"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert not check or done.returncode == 0, done.stderr
    return done


@dataclass
class Registered:
    """A remote test engine registered on the served Berth, a dead one beside it, and a client
    on the remote one's own socket, with what the test made there."""

    slug: str
    dead: str
    api: docker.APIClient
    made: list[str] = field(default_factory=list)


@contextlib.contextmanager
def remote_engines(server: Server, kind: str, name: str) -> Iterator[Registered]:
    """The `kind` ("tls" or "ssh") test engine, called `name`, and a dead engine ("Gone
    host"), registered for every team; removed again afterwards."""
    slug, dead = unique(kind), unique("dead")
    if kind == "tls":
        folder = Path(remote_engine("TLS_DIR"))
        reached = ["--tls-ca", str(folder / "ca.pem"), "--tls-cert", str(folder / "cert.pem"),
                   "--tls-key", str(folder / "key.pem")]  # fmt: skip
    else:
        reached = ["--ssh-key", remote_engine("SSH_KEY"), "--ssh-host-key",
                   remote_engine("SSH_HOST_KEY")]  # fmt: skip
    address = remote_engine(f"{kind.upper()}_HOST")
    manage(server, "engines", "add", slug, address, "--name", name, *reached, "--every-team")
    manage(server, "engines", "add", dead, f"unix:///nonexistent/{dead}.sock",
           "--name", "Gone host", "--every-team")  # fmt: skip
    socket = remote_engine(f"{kind.upper()}_SOCKET")
    registered = Registered(
        slug, dead, docker.APIClient(base_url=socket, version="auto", timeout=60)
    )
    try:
        yield registered
    finally:
        for container_id in registered.made:
            with contextlib.suppress(docker.errors.APIError):
                registered.api.remove_container(container_id, force=True)
        registered.api.close()
        manage(server, "engines", "remove", slug, check=False)
        manage(server, "engines", "remove", dead, check=False)
