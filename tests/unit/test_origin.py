"""The websocket origin rule: the site's own scheme, host and port, or a trusted origin."""

import pytest

from containers_app.consumers.origin import same_origin


def handshake(origin: str | None, host: str = "127.0.0.1:8000", scheme: str = "ws", **headers):
    found = [(b"host", host.encode())]
    if origin is not None:
        found.append((b"origin", origin.encode()))
    found += [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
    return {"type": "websocket", "scheme": scheme, "headers": found}


def test_the_sites_own_origin_is_accepted():
    assert same_origin(handshake("http://127.0.0.1:8000"))


@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.1:9999",  # another port of the same host
        "https://127.0.0.1:8000",  # another scheme
        "http://localhost:8000",  # another host, allowed as a host name but not this origin
        "http://evil.example",
        "null",
        "",
        "http://127.0.0.1:8000.evil.example",
        "http://127.0.0.1:notaport",
    ],
)
def test_any_other_origin_is_refused(origin):
    assert not same_origin(handshake(origin))


def test_a_handshake_without_an_origin_is_refused():
    assert not same_origin(handshake(None))


def test_a_host_header_outside_allowed_hosts_is_refused():
    assert not same_origin(handshake("http://evil.example:8000", host="evil.example:8000"))


def test_default_ports_may_be_left_out_on_either_side(settings):
    settings.ALLOWED_HOSTS = ["berth.example.org"]
    assert same_origin(handshake("http://berth.example.org", host="berth.example.org:80"))
    assert same_origin(handshake("https://berth.example.org:443", "berth.example.org", "wss"))


def test_behind_a_trusted_proxy_the_forwarded_scheme_counts(settings):
    settings.ALLOWED_HOSTS = ["berth.example.org"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    behind = handshake("https://berth.example.org", "berth.example.org", x_forwarded_proto="https")
    assert same_origin(behind)
    assert not same_origin(handshake("https://berth.example.org", "berth.example.org"))


def test_a_forwarded_scheme_is_ignored_unless_the_proxy_is_trusted(settings):
    settings.ALLOWED_HOSTS = ["berth.example.org"]
    forged = handshake("https://berth.example.org", "berth.example.org", x_forwarded_proto="https")
    assert not same_origin(forged)


def test_csrf_trusted_origins_are_accepted_exactly(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://berth.example.org", "https://*.ops.example.org"]
    assert same_origin(handshake("https://berth.example.org"))
    assert same_origin(handshake("https://wall.ops.example.org"))
    assert not same_origin(handshake("https://berth.example.org:8443"))
    assert not same_origin(handshake("http://berth.example.org"))
    assert not same_origin(handshake("https://evil.example.org"))
