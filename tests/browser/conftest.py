"""Browser fixtures: Debian's chromium, driven by Playwright, against Berth served by daphne.

The server is a subprocess running what `make run` runs (tests/served.py), with its own data
folder and SQLite file, so the tests never touch Django's database from the main thread, where
Playwright's sync API keeps an asyncio loop running.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

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
