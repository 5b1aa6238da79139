"""Engines without any engine: addresses and credentials checked before they are stored, the
command line naming the engine, SSH keys and host key fingerprints."""

import base64
import hashlib
import io

import paramiko
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from containers_app import cli, engines
from containers_app.engine import Engine, ssh


def openssh_key(passphrase: bytes | None = None) -> str:
    encryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, encryption)
        .decode()
    )


FINGERPRINT = "SHA256:" + "A" * 43


def test_a_command_on_another_engine_names_it_as_the_cli_would():
    there = Engine(slug="web-1", base_url="ssh://ops@web-1")
    tls = Engine(slug="tls", base_url="tcp://10.0.0.2:2376", tls_ca="/ca.pem")
    here = Engine(slug="local", base_url="unix:///var/run/docker.sock")

    assert cli.on_engine("docker stop web", there, default="local") == (
        "docker -H ssh://ops@web-1 stop web"
    )
    assert cli.on_engine("docker stop web", tls, default="local") == (
        "docker -H tcp://10.0.0.2:2376 --tlsverify stop web"
    )
    assert cli.on_engine("docker stop web", here, default="local") == "docker stop web"


def test_a_command_on_an_engine_with_a_docker_context_names_the_context():
    there = Engine(slug="web-1", base_url="ssh://ops@web-1", cli_context="web-1")
    here = Engine(slug="local", base_url="unix:///var/run/docker.sock", cli_context="my host")

    assert cli.on_engine("docker stop web", there, default="local") == (
        "docker --context web-1 stop web"
    )
    assert cli.on_engine("docker stop web", here, default="local") == (
        "docker --context 'my host' stop web"
    )
    # Named once, whoever names it again; only docker's own lines.
    named = cli.on_engine("docker stop web", there, default="local")
    assert cli.on_engine(named, there, default="local") == named
    assert cli.on_engine("python manage.py teams list", there, default="local") == (
        "python manage.py teams list"
    )


@pytest.mark.parametrize("name", ["", "web-1", "prod.eu_2+b"])
def test_a_docker_context_s_name_is_taken_as_the_cli_takes_it(name):
    assert engines.check_cli_context(f" {name} ") == name


@pytest.mark.parametrize("name", ["-web", "web 1", "a" * 65, "web;rm", "ctx/x"])
def test_a_docker_context_s_name_the_cli_would_not_take_is_refused(name):
    with pytest.raises(engines.EngineRefused, match="docker context"):
        engines.check_cli_context(name)


@pytest.mark.parametrize(
    ("address", "said"),
    [
        ("unix://relative/path", "absolute"),
        ("tcp://", "tcp://host:port"),
        ("ssh://host-without-user", "ssh://user@host"),
        ("http://example.org", "unix://"),
        ("", "unix://"),
    ],
)
def test_an_address_the_cli_would_not_take_is_refused_with_its_form(address, said):
    with pytest.raises(engines.EngineRefused, match=said):
        engines.check_address(address)


def test_tcp_without_all_three_tls_files_is_refused():
    with pytest.raises(engines.EngineRefused, match="needs TLS"):
        engines.check_credentials("tcp://h:2376", engines.Credentials(tls_ca="x", tls_cert="y"))


def test_certificates_or_keys_given_to_the_wrong_transport_are_refused():
    with pytest.raises(engines.EngineRefused, match="only for tcp"):
        engines.check_credentials("unix:///s", engines.Credentials(tls_ca="x"))
    with pytest.raises(engines.EngineRefused, match="only for ssh"):
        engines.check_credentials("unix:///s", engines.Credentials(ssh_key=openssh_key()))


def test_an_ssh_key_with_a_passphrase_is_refused_saying_so():
    given = engines.Credentials(ssh_key=openssh_key(b"secret"), ssh_host_key=FINGERPRINT)
    with pytest.raises(engines.EngineRefused, match="passphrase"):
        engines.check_credentials("ssh://ops@h", given)


def test_an_ssh_engine_needs_a_fingerprint_to_pin():
    given = engines.Credentials(ssh_key=openssh_key(), ssh_host_key="ssh-ed25519 AAAA")
    with pytest.raises(engines.EngineRefused, match="fingerprint"):
        engines.check_credentials("ssh://ops@h", given)
    engines.check_credentials(
        "ssh://ops@h", engines.Credentials(ssh_key=openssh_key(), ssh_host_key=FINGERPRINT)
    )


def test_text_that_is_no_key_is_refused():
    with pytest.raises(ssh.KeyProblem, match="not an SSH private key"):
        ssh.load_key("hello")


def test_a_fingerprint_is_what_ssh_keygen_prints():
    key = paramiko.Ed25519Key.from_private_key(io.StringIO(openssh_key()))
    digest = hashlib.sha256(key.asbytes()).digest()
    expected = "SHA256:" + base64.b64encode(digest).decode().rstrip("=")

    assert ssh.fingerprint(key) == expected
    assert engines.FINGERPRINT.match(expected)


def test_a_host_key_other_than_the_pinned_one_is_refused_naming_both():
    key = paramiko.Ed25519Key.from_private_key(io.StringIO(openssh_key()))
    policy = ssh.PinnedHostKey(FINGERPRINT)

    with pytest.raises(ssh.HostKeyChanged) as refused:
        policy.missing_host_key(None, "[127.0.0.1]:2222", key)
    assert ssh.fingerprint(key) in str(refused.value) and FINGERPRINT in str(refused.value)
    ssh.PinnedHostKey(ssh.fingerprint(key)).missing_host_key(None, "h", key)


@pytest.mark.parametrize("slug", ["all", "new", "host-key", "Upper", "-x", "a" * 64, "a_b"])
@pytest.mark.django_db
def test_a_slug_that_would_clash_with_a_page_or_is_not_a_url_word_is_refused(slug):
    with pytest.raises(engines.EngineRefused):
        engines.check_slug(slug)


@pytest.mark.django_db
def test_an_engine_s_calls_time_out_after_its_own_timeout_or_berth_s(settings):
    settings.DOCKER_TIMEOUT = 30
    slow = engines.engine_add(slug="far-1", address="unix:///far.sock", timeout=120)
    usual = engines.engine_add(slug="near-1", address="unix:///near.sock")

    assert (slow.timeout, usual.timeout) == (120, 30)
    assert engines.get("far-1").timeout == 120
    for wrong in (0, 3601):
        with pytest.raises(engines.EngineRefused, match="1 to 3600 seconds"):
            engines.engine_add(slug="bad-1", address="unix:///bad.sock", timeout=wrong)
