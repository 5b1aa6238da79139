"""When the engine goes away every page says so with a 503, and Berth comes back by itself.

These tests stop and start a second private engine of their own (see second_engine.py), so
they never disturb the shared test engine other tests are using.
"""

import re
import secrets
import socket
from collections.abc import Iterator

import pytest
from django.test import Client

from containers_app.engine import client as engine_client
from containers_app.engines import default as default_engine
from tests.conftest import TEST_IMAGE
from tests.engine.second_engine import SecondEngine

LIST_PAGES = ["/containers/", "/images/", "/networks/", "/volumes/", "/system/"]
# What a dead engine looks like: the socket file gone (a clean stop) or nobody accepting.
DOWN_CAUSES = ("no such file or directory", "connection refused")


@pytest.fixture(scope="module")
def second_engine() -> Iterator[SecondEngine]:
    engine = SecondEngine("down")
    with engine.running():
        yield engine


@pytest.fixture
def down_engine(second_engine, settings) -> SecondEngine:
    """The second engine, running, and the dashboard pointed at it."""
    second_engine.start()
    settings.DOCKER_HOST = second_engine.address
    return second_engine


def banner(response) -> str:
    found = re.search(
        r'<section class="banner error" role="alert">(.*?)</section>',
        response.content.decode(),
        re.S,
    )
    assert found, response.content.decode()[:2000]
    return found.group(1)


def statuses(client: Client, pages: list[str]) -> dict[str, int]:
    return {page: client.get(page).status_code for page in pages}


def assert_unavailable(response, address: str, causes: tuple[str, ...]) -> None:
    assert response.status_code == 503, response.content.decode()[:2000]
    text = banner(response)
    assert "503 · The Docker Engine is unavailable" in text
    assert f"<code>{address}</code>" in text
    assert any(f'<p class="reason">{cause}</p>' in text for cause in causes), text
    assert "will reconnect by itself" in text
    assert "Traceback" not in response.content.decode()


def assert_unavailable_for_htmx(response, address: str, causes: tuple[str, ...]) -> None:
    """An htmx reply: only the message, out of band; the targeted element stays as it was."""
    content = response.content.decode()
    assert response.status_code == 503, content[:2000]
    assert response["HX-Reswap"] == "none"
    assert '<div id="messages" hx-swap-oob="innerHTML"' in content
    assert any(f"The Docker Engine is unavailable: {cause}" in content for cause in causes), content
    assert "<html" not in content
    assert "Traceback" not in content


def test_the_second_engine_runs_beside_the_shared_one(second_engine, docker_api):
    with second_engine.api() as api:
        assert api.version()["ApiVersion"]
        assert api.inspect_image(TEST_IMAGE)["Id"]
        own = api.info()["DockerRootDir"]
    assert own == str(second_engine.directory / "data")
    assert docker_api.info()["DockerRootDir"] != own


def test_every_page_answers_503_while_the_engine_is_down_and_200_once_it_is_back(
    admin_client, down_engine, htmx
):
    container = down_engine.container()
    pages = [*LIST_PAGES, f"/containers/{container['Id']}/"]
    assert statuses(admin_client, pages) == dict.fromkeys(pages, 200)
    assert container["Name"].lstrip("/").encode() in admin_client.get("/containers/?all=1").content
    client_before = engine_client.api(default_engine())

    address = down_engine.address
    down_engine.stop()
    for page in pages:
        assert_unavailable(admin_client.get(page), address, DOWN_CAUSES)
    reply = admin_client.post(f"/containers/{container['Id']}/start/", **htmx)
    assert_unavailable_for_htmx(reply, address, DOWN_CAUSES)
    # A plain form post gets the whole page, not a traceback.
    assert_unavailable(
        admin_client.post(f"/containers/{container['Id']}/start/"), address, DOWN_CAUSES
    )
    # A bulk action says the engine is down, not "0 of 1 done".
    bulk = admin_client.post(
        "/containers/bulk/", {"action": "start", "ids": container["Id"]}, **htmx
    )
    assert_unavailable_for_htmx(bulk, address, DOWN_CAUSES)

    down_engine.start()
    # No restart of Django and no cache cleared: the same client simply reconnects.
    assert statuses(admin_client, pages) == dict.fromkeys(pages, 200)
    assert engine_client.api(default_engine()) is client_before


def test_a_dashboard_that_first_meets_its_engine_while_it_is_down_works_once_it_starts(
    admin_client, down_engine
):
    address = down_engine.address
    down_engine.stop()
    # As a freshly started Berth: no client built yet, so the first call asks for the version.
    engine_client.forget(default_engine())
    assert_unavailable(admin_client.get("/containers/"), address, DOWN_CAUSES)
    assert_unavailable(admin_client.get("/system/"), address, DOWN_CAUSES)

    down_engine.start()
    assert statuses(admin_client, LIST_PAGES) == dict.fromkeys(LIST_PAGES, 200)


def closed_tcp_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    ("address", "cause"),
    [
        (f"unix:///tmp/{secrets.token_hex(8)}/nothing.sock", "no such file or directory"),
        (f"tcp://127.0.0.1:{closed_tcp_port()}", "connection refused"),
    ],
    ids=["missing-socket", "closed-port"],
)
def test_an_engine_address_where_nothing_listens_answers_503_not_500(
    admin_client, settings, htmx, address, cause
):
    settings.DOCKER_HOST = address
    for page in [*LIST_PAGES, "/containers/web/", "/networks/bridge/", "/volumes/data/"]:
        assert_unavailable(admin_client.get(page), address, (cause,))
    assert_unavailable_for_htmx(
        admin_client.post("/containers/web/stop/", **htmx), address, (cause,)
    )
