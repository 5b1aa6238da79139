"""Registry logins without an engine: the encryption at rest and its key, which registry an
address or image reference names, the login form and its `docker login` line."""

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured

from containers_app import access, cli, credentials
from containers_app.engine.registries import (
    DOCKER_HUB,
    InvalidServer,
    normalise_server,
    registry_of,
)
from containers_app.forms import RegistryLoginForm
from containers_app.models import RegistryCredential

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "s3cret-Pässword with spaces"


@pytest.fixture
def key(settings) -> str:
    settings.BERTH_CREDENTIALS_KEY = Fernet.generate_key().decode()
    return settings.BERTH_CREDENTIALS_KEY


# Encryption at rest


def test_a_password_comes_back_from_its_encryption(key):
    secret = credentials.encrypt(PASSWORD)

    assert credentials.decrypt(secret) == PASSWORD


def test_the_stored_text_does_not_hold_the_password_and_differs_each_time(key):
    first, second = credentials.encrypt(PASSWORD), credentials.encrypt(PASSWORD)

    assert first != PASSWORD
    assert PASSWORD not in first
    assert PASSWORD.encode().hex() not in first
    assert base64.urlsafe_b64encode(PASSWORD.encode()).decode().rstrip("=") not in first
    assert first != second


def test_a_password_stored_under_another_key_cannot_be_read(settings, key):
    secret = credentials.encrypt(PASSWORD)
    settings.BERTH_CREDENTIALS_KEY = Fernet.generate_key().decode()

    with pytest.raises(credentials.CredentialUnreadable):
        credentials.decrypt(secret)


def test_a_key_that_is_not_a_fernet_key_is_a_clear_configuration_error(settings):
    settings.BERTH_CREDENTIALS_KEY = "my password"

    with pytest.raises(ImproperlyConfigured, match="not a Fernet key"):
        credentials.encrypt(PASSWORD)


def test_without_a_configured_key_one_is_generated_private_in_the_data_folder(settings, tmp_path):
    settings.BERTH_CREDENTIALS_KEY = ""
    settings.DATA_DIR = tmp_path
    previous = os.umask(0)  # even when the process's umask would let everyone read it
    try:
        secret = credentials.encrypt(PASSWORD)
    finally:
        os.umask(previous)

    key_file = tmp_path / "credentials_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    generated = key_file.read_text()
    assert Fernet(generated.encode()).decrypt(secret.encode()).decode() == PASSWORD
    assert generated != settings.SECRET_KEY
    # Generated once: the next use reads the same key back.
    assert credentials.decrypt(credentials.encrypt(PASSWORD)) == PASSWORD
    assert key_file.read_text() == generated


def test_a_key_from_the_environment_is_used_and_no_key_file_is_made(tmp_path):
    given = Fernet.generate_key().decode()
    show = (
        "from django.conf import settings; from containers_app import credentials; "
        "from cryptography.fernet import Fernet; "
        "secret = credentials.encrypt('pw'); "
        "print(settings.BERTH_CREDENTIALS_KEY); "
        "print(Fernet(settings.BERTH_CREDENTIALS_KEY.encode()).decrypt(secret.encode()).decode())"
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "BERTH_DATA_DIR": str(tmp_path),
        "BERTH_CREDENTIALS_KEY": given,
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", show],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [given, "pw"]
    assert not (tmp_path / "credentials_key").exists()


# Which registry an image reference points at (docker's rule)


@pytest.mark.parametrize(
    ("reference", "registry"),
    [
        ("busybox", DOCKER_HUB),
        ("busybox:1.36", DOCKER_HUB),
        ("redis:7", DOCKER_HUB),
        ("library/busybox:latest", DOCKER_HUB),
        ("someone/app", DOCKER_HUB),
        ("someone/app@sha256:" + "a" * 64, DOCKER_HUB),
        ("docker.io/library/busybox", DOCKER_HUB),
        ("index.docker.io/someone/app:1", DOCKER_HUB),
        ("registry-1.docker.io/someone/app", DOCKER_HUB),
        ("127.0.0.1:5000/x:1", "127.0.0.1:5000"),
        ("localhost/x", "localhost"),
        ("localhost:5000/team/x:2", "localhost:5000"),
        ("ghcr.io/owner/app:tag", "ghcr.io"),
        ("Registry.Example.COM:8443/App", "registry.example.com:8443"),
        ("myhost:5000/x", "myhost:5000"),
        # No "." or ":" and not localhost: a Docker Hub user, not a host.
        ("myhost/x", DOCKER_HUB),
    ],
)
def test_a_reference_names_its_registry_by_the_first_path_component(reference, registry):
    assert registry_of(reference) == registry


@pytest.mark.parametrize(
    ("given", "server"),
    [
        ("127.0.0.1:5000", "127.0.0.1:5000"),
        ("127.0.0.1:5000/x:1", "127.0.0.1:5000"),
        ("localhost:5000", "localhost:5000"),
        ("registry.example.com", "registry.example.com"),
        ("https://registry.example.com/", "registry.example.com"),
        ("docker.io", DOCKER_HUB),
        (DOCKER_HUB, DOCKER_HUB),
        ("", DOCKER_HUB),
        # Without a slash a name with a tag is an image on Docker Hub, as `docker pull` reads
        # it; an image there must never be sent a login meant for a host of that name.
        ("redis:7", DOCKER_HUB),
        ("busybox", DOCKER_HUB),
        ("myhost:5000", DOCKER_HUB),
    ],
)
def test_an_address_or_a_reference_names_the_registry_a_login_is_looked_up_under(given, server):
    assert credentials.server_of(given) == server


# Normalising an address as the CLI does


@pytest.mark.parametrize(
    "hub",
    [
        "",
        "docker.io",
        "index.docker.io",
        "https://index.docker.io/v1/",
        "https://index.docker.io/v1",
        "http://index.docker.io/v1/",
        "registry-1.docker.io",
        " Docker.IO/ ",
    ],
)
def test_every_name_of_docker_hub_becomes_the_address_the_engine_expects(hub):
    assert normalise_server(hub) == "https://index.docker.io/v1/"


@pytest.mark.parametrize(
    ("given", "server"),
    [
        ("127.0.0.1:5000", "127.0.0.1:5000"),
        ("http://127.0.0.1:5000/", "127.0.0.1:5000"),
        ("https://Registry.Example.com", "registry.example.com"),
        ("ghcr.io/", "ghcr.io"),
        ("[::1]:5000", "[::1]:5000"),
        ("localhost", "localhost"),
    ],
)
def test_other_addresses_lose_their_scheme_and_trailing_slash(given, server):
    assert normalise_server(given) == server


@pytest.mark.parametrize(
    "bad",
    [
        "registry.example.com/v2/../../etc",
        "registry.example.com/path",
        "user:pw@registry.example.com",
        "registry.example.com?x=1",
        "registry.example.com#x",
        "registry.example.com:0",
        "registry.example.com:65536",
        "registry.example.com:port",
        "-registry.example.com",
        "registry..example.com",
        "reg istry.example.com",
        "registry.example.com\nevil.example.com",
        "ftp://registry.example.com",
        "a" * 300,
    ],
)
def test_anything_but_host_and_port_is_refused(bad):
    with pytest.raises(InvalidServer):
        normalise_server(bad)


# The login form and its command line


def test_the_login_form_always_wants_the_password():
    form = RegistryLoginForm({"server": "127.0.0.1:5000", "username": "me"})

    assert not form.is_valid()
    assert "password" in form.errors


def test_the_login_form_cleans_the_server_and_keeps_the_password_as_typed():
    form = RegistryLoginForm(
        {"server": "HTTPS://Reg.Example.com/", "username": " me ", "password": " pw "}
    )

    assert form.is_valid(), form.errors
    assert form.cleaned_data == {"server": "reg.example.com", "username": "me", "password": " pw "}


def test_the_login_form_refuses_a_path_in_the_server():
    form = RegistryLoginForm({"server": "reg.example.com/../x", "username": "me", "password": "pw"})

    assert not form.is_valid()
    assert "without a path" in " ".join(form.errors["server"])


def test_a_submitted_login_form_never_draws_the_password_back():
    form = RegistryLoginForm({"server": "bad/path", "username": "me", "password": PASSWORD})
    form.is_valid()

    assert PASSWORD not in str(form)


def test_the_login_line_names_user_and_server_but_no_password():
    assert cli.registry_login("127.0.0.1:5000", "me") == "docker login --username me 127.0.0.1:5000"
    assert cli.registry_login("r.example.com", "it's me") == (
        "docker login --username 'it'\"'\"'s me' r.example.com"
    )
    assert cli.registry_logout("127.0.0.1:5000") == "docker logout 127.0.0.1:5000"


# Whose logins: the user's own, decrypted for their own pulls


def test_only_superusers_may_manage_anyones_logins():
    def person(**flags):
        values = {"is_authenticated": True, "is_active": True, "is_staff": False}
        return type("Person", (), values | {"is_superuser": False} | flags)()

    assert access.administers_host(person(is_staff=True, is_superuser=True))
    assert not access.administers_host(person(is_staff=True))
    assert not access.administers_host(person())
    assert not access.administers_host(person(is_superuser=True, is_active=False))


@pytest.mark.django_db
def test_registry_auth_hands_a_user_only_their_own_login_for_that_registry(key):
    users = get_user_model().objects
    me, other = users.create_user(username="me"), users.create_user(username="other")
    credentials.store(owner=me, server="127.0.0.1:5000", username="me-at-5000", password="pw1")
    credentials.store(owner=me, server=DOCKER_HUB, username="me-at-hub", password="pw2")
    credentials.store(owner=other, server="ghcr.io", username="other", password="pw3")

    assert credentials.registry_auth(me, "127.0.0.1:5000/team/x:1") == {
        "username": "me-at-5000",
        "password": "pw1",
        "serveraddress": "127.0.0.1:5000",
    }
    assert credentials.registry_auth(me, "redis:7")["serveraddress"] == DOCKER_HUB
    assert credentials.registry_auth(me, "docker.io")["username"] == "me-at-hub"
    assert credentials.registry_auth(me, "127.0.0.1:5001/x") is None
    assert credentials.registry_auth(me, "ghcr.io/other/app") is None
    assert credentials.registry_auth(other, "127.0.0.1:5000/x") is None


@pytest.mark.django_db
def test_storing_a_login_again_replaces_it_and_keeps_only_ciphertext(key):
    me = get_user_model().objects.create_user(username="me")
    credentials.store(owner=me, server="127.0.0.1:5000", username="old", password="first")
    credentials.store(owner=me, server="127.0.0.1:5000", username="new", password=PASSWORD)

    stored = RegistryCredential.objects.get(owner=me)
    assert (stored.username, stored.server) == ("new", "127.0.0.1:5000")
    assert PASSWORD not in stored.secret
    assert credentials.decrypt(stored.secret) == PASSWORD
