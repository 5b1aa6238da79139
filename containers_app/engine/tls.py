"""Engines over TCP with TLS client certificates, for the SDK's client and for raw streams."""

import socket
import ssl
from typing import TYPE_CHECKING

import docker
import docker.tls
import requests

from containers_app.engine.errors import EngineUnavailable

if TYPE_CHECKING:
    from containers_app.engine.client import Engine

# The lowest API version the SDK speaks: asking the engine its own needs a client first.
PROBE_VERSION = "1.24"
# With TLS 1.3 an engine checks Berth's client certificate after the handshake has ended on
# Berth's side: a certificate it does not trust closes the connection, and whether its alert
# arrives before the close (an SSL error naming it) or not (a connection closed unanswered)
# is a race. Either way, this is what it means on the first call.
CLOSED_UNANSWERED = (
    "TLS: the engine closed the connection without answering, as it does when it refuses "
    "Berth's client certificate"
)


def api_client(engine: "Engine", *, timeout: int, pool_size: int) -> docker.APIClient:
    """A client that trusts only the engine's CA and shows its client certificate.

    requests would otherwise take REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE from the environment
    over the CA given here (even over verify=False), so environment trust is off before the
    first call, which is why the version is asked here and not by version="auto"."""
    config = docker.tls.TLSConfig(
        client_cert=(engine.tls_cert, engine.tls_key), ca_cert=engine.tls_ca, verify=True
    )
    options = {"base_url": engine.base_url, "tls": config, "timeout": timeout}
    probe = docker.APIClient(version=PROBE_VERSION, **options)
    probe.trust_env = False
    try:
        version = probe.version(api_version=False)["ApiVersion"]
    except requests.exceptions.ConnectionError as error:
        if "RemoteDisconnected" in str(error) or "Connection reset by peer" in str(error):
            raise EngineUnavailable(CLOSED_UNANSWERED, engine=engine.base_url) from error
        raise
    finally:
        probe.close()
    client = docker.APIClient(version=version, max_pool_size=pool_size, **options)
    client.trust_env = False
    return client


def context(engine: "Engine") -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=engine.tls_ca)
    context.load_cert_chain(engine.tls_cert, engine.tls_key)
    return context


def wrap(engine: "Engine", sock: socket.socket, hostname: str) -> ssl.SSLSocket:
    """`sock`, connected, as a TLS connection that checked the engine's certificate
    (its host name or IP address included) and showed Berth's."""
    return context(engine).wrap_socket(sock, server_hostname=hostname)
