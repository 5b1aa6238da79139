"""Engines over TCP with TLS client certificates, for the SDK's client and for raw streams."""

import socket
import ssl
from typing import TYPE_CHECKING

import docker
import docker.tls

if TYPE_CHECKING:
    from containers_app.engine.client import Engine

# The lowest API version the SDK speaks: asking the engine its own needs a client first.
PROBE_VERSION = "1.24"


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
