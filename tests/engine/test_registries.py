"""Registry logins against real registries the test engine reaches (scripts/test-registry):
`docker login` checked by the engine and kept encrypted, `docker logout`, and who may see what."""

import logging
import socket

import docker
import pytest
from django.test import Client

from containers_app import credentials
from containers_app.engine import client as engine_client
from containers_app.models import AuditEntry, RegistryCredential
from tests.conftest import TEST_IMAGE, unique
from tests.engine.markup import flash, page, row, shows


def log_in(client: Client, registry, *, password: str | None = None, username: str = ""):
    return client.post(
        "/registries/",
        {
            "server": registry.address,
            "username": username or registry.username,
            "password": registry.password if password is None else password,
        },
    )


def audit_text() -> str:
    """Every field of every audit entry, to look for what must never be there."""
    return "\n".join(
        str(value) for entry in AuditEntry.objects.values() for value in entry.values()
    )


@pytest.fixture(scope="module")
def private_image(docker_api, auth_registry) -> str:
    """An image in the registry that wants a password, for pulls with and without it."""
    repository = f"{auth_registry.address}/{unique('login')}"
    docker_api.tag(TEST_IMAGE, repository, "1")
    auth = {"username": auth_registry.username, "password": auth_registry.password}
    output = list(docker_api.push(repository, tag="1", auth_config=auth, stream=True, decode=True))
    assert not [line for line in output if "error" in line], output
    docker_api.remove_image(f"{repository}:1")
    return f"{repository}:1"


def pull_error(api: docker.APIClient, reference: str, auth: dict | None = None) -> str | None:
    """Why the engine refused to pull `reference` for `api`, or None if it pulled it."""
    repository, _, tag = reference.rpartition(":")
    try:
        output = list(api.pull(repository, tag=tag, auth_config=auth, stream=True, decode=True))
    except docker.errors.APIError as error:
        return str(error.explanation)
    errors = [line["error"] for line in output if "error" in line]
    return errors[0] if errors else None


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on in the engine's namespace: the kernel's pick in ours, let go.
    Its only loopback listeners are the test registries, which have ports of their own."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Logging in


def test_it_keeps_a_login_the_registry_accepts_with_the_password_encrypted(
    staff_client, staff_user, auth_registry, caplog
):
    caplog.set_level(logging.DEBUG)

    response = log_in(staff_client, auth_registry)

    assert response.status_code == 302, page(response)
    assert response["Location"] == "/registries/"
    stored = RegistryCredential.objects.get(owner=staff_user)
    assert (stored.server, stored.username) == (auth_registry.address, auth_registry.username)
    assert auth_registry.password not in stored.secret
    assert credentials.decrypt(stored.secret) == auth_registry.password
    listed = staff_client.get("/registries/")
    assert listed.status_code == 200
    markup = row(listed, str(stored.pk))
    assert markup, page(listed)
    assert auth_registry.address in markup and auth_registry.username in markup
    assert shows(
        listed, f"docker login --username {auth_registry.username} {auth_registry.address}"
    )
    assert auth_registry.password not in page(listed)
    entry = AuditEntry.objects.get(action="login")
    assert entry.succeeded
    assert (
        entry.command == f"docker login --username {auth_registry.username} {auth_registry.address}"
    )
    assert auth_registry.password not in audit_text()
    assert auth_registry.password not in caplog.text


def test_it_refuses_a_wrong_password_saying_so_and_keeps_nothing(
    staff_client, auth_registry, caplog
):
    caplog.set_level(logging.DEBUG)
    wrong = "not-the-password-" + unique()

    response = log_in(staff_client, auth_registry, password=wrong)

    assert response.status_code == 400
    # The engine's words stay in the audit trail (a superuser's to read), off the page.
    assert shows(response, f"Could not reach or sign in to the registry {auth_registry.address}.")
    assert "401 Unauthorized" not in page(response)
    assert not RegistryCredential.objects.exists()
    entry = AuditEntry.objects.get(action="login")
    assert not entry.succeeded
    assert "401" in entry.message
    for secret in (wrong, auth_registry.password):
        assert secret not in page(response)
        assert secret not in audit_text()
        assert secret not in caplog.text


def test_it_refuses_a_registry_nobody_answers_at_naming_no_connection_detail(
    staff_client, closed_port
):
    response = staff_client.post(
        "/registries/",
        {"server": f"127.0.0.1:{closed_port}", "username": "me", "password": "pw"},
    )

    assert response.status_code == 503
    assert shows(response, f"Could not reach or sign in to the registry 127.0.0.1:{closed_port}.")
    assert "connection refused" not in page(response)
    assert not RegistryCredential.objects.exists()


@pytest.mark.parametrize(
    ("server", "reason"),
    [
        ("127.0.0.1:5000/../../x", "without a path"),
        ("user@127.0.0.1:5000", "host and port only"),
        ("127.0.0.1:99999", "ports are 1 to 65535"),
    ],
)
def test_it_refuses_an_address_that_is_not_host_and_port_before_asking_the_engine(
    staff_client, server, reason
):
    response = staff_client.post(
        "/registries/", {"server": server, "username": "me", "password": "pw"}
    )

    assert response.status_code == 400
    assert reason in page(response)
    assert not AuditEntry.objects.exists()
    assert not RegistryCredential.objects.exists()


def test_logging_in_again_to_the_same_registry_replaces_the_login(
    staff_client, staff_user, registry
):
    # The open registry accepts any username, so the second login differs visibly.
    assert log_in(staff_client, registry, username="first", password="a").status_code == 302
    assert log_in(staff_client, registry, username="second", password="b").status_code == 302

    stored = RegistryCredential.objects.get(owner=staff_user)
    assert (stored.server, stored.username) == (registry.address, "second")
    assert credentials.decrypt(stored.secret) == "b"


def test_a_refused_login_leaves_the_one_before_it_in_place(staff_client, staff_user, auth_registry):
    assert log_in(staff_client, auth_registry).status_code == 302
    before = RegistryCredential.objects.get(owner=staff_user)

    response = log_in(staff_client, auth_registry, password="wrong")

    assert response.status_code == 400
    after = RegistryCredential.objects.get(owner=staff_user)
    assert (after.pk, after.username, after.secret) == (before.pk, before.username, before.secret)


def test_a_login_without_its_password_is_refused_and_changes_nothing(
    staff_client, staff_user, auth_registry, registry
):
    assert log_in(staff_client, auth_registry).status_code == 302
    before = list(RegistryCredential.objects.values())

    for server in (auth_registry.address, registry.address):
        response = staff_client.post(
            "/registries/", {"server": server, "username": auth_registry.username}
        )
        assert response.status_code == 400
        assert "This field is required." in page(response)

    assert list(RegistryCredential.objects.values()) == before
    assert AuditEntry.objects.filter(action="login").count() == 1


# Logging out, and whose logins are whose


def test_logging_out_forgets_the_login_and_audits_it(staff_client, staff_user, auth_registry):
    assert log_in(staff_client, auth_registry).status_code == 302
    stored = RegistryCredential.objects.get(owner=staff_user)

    response = staff_client.post(f"/registries/{stored.pk}/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/registries/"
    assert not RegistryCredential.objects.exists()
    entry = AuditEntry.objects.get(action="logout")
    assert entry.succeeded
    assert entry.command == f"docker logout {auth_registry.address}"
    assert row(staff_client.get("/registries/"), str(stored.pk)) is None


def test_logging_out_through_htmx_removes_the_row_and_says_so(
    staff_client, staff_user, registry, htmx
):
    assert log_in(staff_client, registry, username="me", password="pw").status_code == 302
    stored = RegistryCredential.objects.get(owner=staff_user)

    response = staff_client.post(f"/registries/{stored.pk}/logout/", **htmx)

    assert response.status_code == 200
    assert flash(response) == f"Logged out of {registry.address}: docker logout {registry.address}"
    assert not RegistryCredential.objects.exists()


def test_another_teams_admin_can_neither_see_nor_remove_a_login(
    staff_client, staff_user, other_admin_client, auth_registry
):
    assert log_in(staff_client, auth_registry).status_code == 302
    stored = RegistryCredential.objects.get(owner=staff_user)

    listed = other_admin_client.get("/registries/")
    removed = other_admin_client.post(f"/registries/{stored.pk}/logout/")

    assert listed.status_code == 200
    assert row(listed, str(stored.pk)) is None
    assert auth_registry.username not in page(listed)
    assert removed.status_code == 404
    assert RegistryCredential.objects.filter(pk=stored.pk).exists()
    assert not AuditEntry.objects.filter(action="logout").exists()


def test_a_superuser_sees_everyones_logins_with_their_owner_and_may_remove_them(
    staff_client, staff_user, admin_client, auth_registry
):
    assert log_in(staff_client, auth_registry).status_code == 302
    stored = RegistryCredential.objects.get(owner=staff_user)

    listed = admin_client.get("/registries/")
    markup = row(listed, str(stored.pk))
    assert markup, page(listed)
    assert f"<td>{staff_user.username}</td>" in markup
    assert auth_registry.password not in page(listed)

    removed = admin_client.post(f"/registries/{stored.pk}/logout/")

    assert removed.status_code == 302
    assert not RegistryCredential.objects.exists()
    entry = AuditEntry.objects.get(action="logout")
    assert entry.target == f"{auth_registry.address} (login of {staff_user.username})"


def test_the_page_and_its_link_are_for_those_who_may_change_things(staff_client, viewer_client):
    listed = staff_client.get("/registries/")

    assert '<a href="/registries/" aria-current="page">Registries</a>' in page(listed)
    assert viewer_client.get("/registries/").status_code == 403
    assert 'href="/registries/"' not in page(viewer_client.get("/system/"))


# The engine keeps nothing


def test_a_login_leaves_the_engine_and_berths_client_unauthenticated(
    staff_client, staff_user, auth_registry, private_image, docker_api, engine
):
    assert log_in(staff_client, auth_registry).status_code == 302

    # Another client of the same engine, and the client Berth shares between all its users:
    # neither may pull from the registry on the strength of that login.
    shared = engine_client.api(engine)
    for api in (docker_api, shared):
        refused = pull_error(api, private_image)
        assert refused and "no basic auth credentials" in refused, refused
    assert not shared._auth_configs.get("auths")
    # The stored login itself works: what pull and push are handed is enough to pull.
    auth = credentials.registry_auth(staff_user, private_image)
    assert auth == {
        "username": auth_registry.username,
        "password": auth_registry.password,
        "serveraddress": auth_registry.address,
    }
    assert pull_error(docker_api, private_image, auth) is None
    docker_api.remove_image(private_image)
