"""The system page against the private engine: `docker version`, `docker info`, `system df`."""

import re

import docker
from django.template.defaultfilters import filesizeformat
from django.utils.html import escape

from tests.engine.markup import page, shows


def stat(response, label: str) -> int:
    """The number in the summary box called `label`."""
    found = re.search(
        rf'<div class="stat"><span class="muted">{label}</span><b>(\d+)</b>', page(response)
    )
    assert found, f"no {label} box"
    return int(found.group(1))


def field(response, term: str) -> str:
    found = re.search(rf"<dt>{re.escape(term)}</dt><dd[^>]*>(.*?)</dd>", page(response), re.S)
    assert found, f"no {term}"
    return found.group(1)


def test_it_shows_the_engine_and_api_versions(admin_client, docker_api):
    version = docker_api.version()

    response = admin_client.get("/system/")

    assert response.status_code == 200
    assert field(response, "Engine") == escape(version["Version"])
    assert field(response, "API version") == (
        f"{version['ApiVersion']} (minimum {version['MinAPIVersion']})"
    )
    assert field(response, "OS/Arch") == f"{version['Os']}/{version['Arch']}"
    assert field(response, "Client (Berth)") == (
        f"Docker SDK for Python {docker.__version__}, API {docker_api.api_version}"
    )
    assert shows(response, "docker version")


def test_it_shows_what_docker_info_says(admin_client, make, docker_api):
    make.container()
    info = docker_api.info()

    response = admin_client.get("/system/")

    assert stat(response, "Containers") >= 1
    assert stat(response, "Images") >= 1
    assert stat(response, "CPUs") == info["NCPU"]
    assert re.search(
        rf'<span class="muted">Memory</span><b>{re.escape(filesizeformat(info["MemTotal"]))}</b>',
        page(response),
    )
    assert field(response, "Storage driver") == escape(info["Driver"])
    assert field(response, "Kernel") == escape(info["KernelVersion"])
    assert field(response, "Operating system") == escape(info["OperatingSystem"])
    assert field(response, "Server version") == escape(info["ServerVersion"])
    assert field(response, "Logging driver") == escape(info["LoggingDriver"])
    assert field(response, "Name") == escape(info["Name"])
    assert shows(response, "docker info")


def test_it_shows_the_engines_warnings_only_when_there_are_some(admin_client, docker_api):
    warnings = docker_api.info().get("Warnings") or []

    response = admin_client.get("/system/")

    if warnings:
        assert "<h2>Warnings</h2>" in page(response)
        for warning in warnings:
            assert shows(response, warning)
    else:
        assert "<h2>Warnings</h2>" not in page(response)


def test_it_shows_the_system_df_table(admin_client, make):
    make.volume()
    make.container()

    response = admin_client.get("/system/")

    table = re.search(r'<table class="list compact df">.*?</table>', page(response), re.S)
    assert table, "no disk usage table"
    rows = re.findall(
        r"<tr><td>([A-Za-z ]+)</td><td>(\d+)</td><td>(\d+)</td>"
        r"<td>([^<]+)</td><td>([^<]+)</td></tr>",
        table.group(0),
    )
    assert [r[0] for r in rows] == ["Images", "Containers", "Local Volumes", "Build Cache"]
    totals = {kind: (int(total), int(active)) for kind, total, active, _, _ in rows}
    for kind in ("Images", "Containers", "Local Volumes"):
        total, active = totals[kind]
        assert total >= 1
        assert 0 <= active <= total
    assert totals["Containers"][1] >= 1
    for _, _, _, size, reclaimable in rows:
        assert re.fullmatch(r"[\d.]+\s(bytes|KB|MB|GB|TB)", size)
        assert re.fullmatch(r"[\d.]+\s(bytes|KB|MB|GB|TB)", reclaimable)
    assert shows(response, "docker system df")


def test_it_shows_a_viewer_the_system_page(viewer_client, docker_api):
    response = viewer_client.get("/system/")

    assert response.status_code == 200
    assert field(response, "Engine") == escape(docker_api.version()["Version"])
    assert "<form" not in page(response).replace(
        '<form method="post" action="/accounts/logout/">', ""
    )


def test_it_sends_anonymous_visitors_to_sign_in(client):
    response = client.get("/system/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/system/"


def test_it_only_answers_get(admin_client, viewer_client):
    assert admin_client.post("/system/").status_code == 405
    assert viewer_client.post("/system/").status_code == 405
