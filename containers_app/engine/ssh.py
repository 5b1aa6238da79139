"""Engines over SSH with no agent: paramiko runs `docker system dial-stdio` on the host, as
the docker CLI does, with the engine's own key and its pinned host key, never ~/.ssh.

Why paramiko and not the system ssh: a connection lives in the process and carries many
requests (20 lists took 0.03 s, against 4.8 s for a new ssh per request and 0.53 s with
ControlMaster), and the key and host key are given to it here rather than through files
the user's ssh would read. sshd allows 10 sessions per connection by default (MaxSessions)
and each open request or stream holds one, so the SDK's client keeps at most a few pooled
requests on its connection, and streams are spread over connections of their own, at most
STREAMS_PER_CONNECTION on each. paramiko never makes a dropped connection again: a dead
one is replaced by a new client.
"""

import base64
import contextlib
import hashlib
import io
import logging
import socket
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import docker
import docker.constants
import paramiko
from docker.transport.sshconn import SSHHTTPAdapter
from urllib3._collections import RecentlyUsedContainer

if TYPE_CHECKING:
    from containers_app.engine.client import Engine

DIAL = "docker system dial-stdio"
DROPPED = "the SSH connection to the engine dropped"
STREAMS_PER_CONNECTION = 8
KEEPALIVE_SECONDS = 15
PROBE_VERSION = "1.24"
# paramiko says every connection and sign-in at INFO: only its warnings reach the log.
logging.getLogger("paramiko").setLevel(logging.WARNING)
KEY_TYPES = (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey)


class HostKeyChanged(paramiko.SSHException):
    """The host answered with another key than the one pinned when the engine was added."""


class KeyProblem(ValueError):
    """A private key Berth cannot use: not a key, or protected by a passphrase."""


def fingerprint(key: paramiko.PKey) -> str:
    """The key's SHA256 fingerprint as `ssh-keygen -l` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def load_key(text: str) -> paramiko.PKey:
    """A private key from its text (OpenSSH or PEM); refused if it has a passphrase, which
    nobody would be there to type."""
    for kind in KEY_TYPES:
        try:
            return kind.from_private_key(io.StringIO(text))
        except paramiko.PasswordRequiredException:
            raise KeyProblem(
                "This key is protected by a passphrase, which nobody is there to type when "
                "Berth connects. Use a key without one (ssh-keygen -p -N '' -f <a copy of "
                "the key> removes it from a copy)."
            ) from None
        except (paramiko.SSHException, ValueError):
            continue
    raise KeyProblem("This is not an SSH private key Berth can read (Ed25519, ECDSA or RSA).")


@dataclass(frozen=True)
class Address:
    user: str
    host: str
    port: int


def address_of(base_url: str) -> Address:
    url = urllib.parse.urlsplit(base_url)
    if url.scheme != "ssh" or not url.hostname or not url.username:
        raise ValueError("An SSH address is ssh://user@host or ssh://user@host:port.")
    return Address(user=urllib.parse.unquote(url.username), host=url.hostname, port=url.port or 22)


def host_key_of(base_url: str, *, timeout: float = 10) -> str:
    """The fingerprint of the host key the SSH server at `base_url` shows now: what the
    engine's page asks a person to confirm before it is pinned. OSError if none answers."""
    where = address_of(base_url)
    sock = socket.create_connection((where.host, where.port), timeout=timeout)
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=timeout)
        return fingerprint(transport.get_remote_server_key())
    except paramiko.SSHException as error:
        raise ConnectionError(f"no SSH server answered there: {error}") from error
    finally:
        transport.close()


def known_hosts_line(engine: "Engine") -> str:
    """The known_hosts line of the engine's host as it answers now, if its key is the one
    pinned (for the system ssh, which takes whole keys where Berth pins a fingerprint).
    Raises HostKeyChanged if it is not, OSError or SSHException if no server answers."""
    where = address_of(engine.base_url)
    sock = socket.create_connection((where.host, where.port), timeout=engine.timeout)
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=engine.timeout)
        key = transport.get_remote_server_key()
    finally:
        transport.close()
    PinnedHostKey(engine.ssh_host_key).missing_host_key(None, where.host, key)
    host = where.host if where.port == 22 else f"[{where.host}]:{where.port}"
    return f"{host} {key.get_name()} {key.get_base64()}"


class PinnedHostKey(paramiko.MissingHostKeyPolicy):
    """Accepts the host only with the key pinned for the engine: paramiko asks this for
    every connection, as the client is given no known_hosts at all."""

    def __init__(self, pinned: str) -> None:
        self.pinned = pinned

    def missing_host_key(self, client, hostname, key) -> None:
        seen = fingerprint(key)
        if seen != self.pinned:
            raise HostKeyChanged(
                f"the SSH host key of {hostname} is {seen}, not {self.pinned} as pinned when "
                "the engine was added: if the host was reinstalled, compare the new key with "
                "ssh-keygen -lf on the host and pin it (manage.py engines pin); otherwise "
                "someone may be in the way"
            )


def _connected_client(engine: "Engine") -> paramiko.SSHClient:
    where = address_of(engine.base_url)
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(PinnedHostKey(engine.ssh_host_key))
    try:
        client.connect(
            where.host,
            port=where.port,
            username=where.user,
            key_filename=engine.ssh_key,
            look_for_keys=False,
            allow_agent=False,
            timeout=engine.timeout,
            banner_timeout=engine.timeout,
            auth_timeout=engine.timeout,
        )
    except FileNotFoundError as error:
        # The key is written when the engine is added and removed with it: a call still on
        # its way when the engine was removed ends here.
        raise ConnectionError(
            "the engine's SSH key file is gone: the engine was removed, or Berth's data "
            "folder lost its files (add the engine again)"
        ) from error
    # A connection whose other end went away without a word is found out by the keepalive.
    client.get_transport().set_keepalive(KEEPALIVE_SECONDS)
    return client


class _PinnedAdapter(SSHHTTPAdapter):
    """The SDK's SSH transport, connected with the engine's key and pinned host key instead
    of ~/.ssh, and connected again when its connection dropped."""

    def __init__(self, engine: "Engine", *, timeout: int, pool_size: int) -> None:
        self.engine = engine
        self._reconnecting = threading.Lock()
        super().__init__(engine.base_url, timeout=timeout, max_pool_size=pool_size)

    def _create_paramiko_client(self, base_url) -> None:
        self.ssh_client = None

    def _connect(self) -> None:
        self.ssh_client = _connected_client(self.engine)

    def get_connection(self, url, proxies=None):
        with self._reconnecting:
            transport = self.ssh_client.get_transport() if self.ssh_client else None
            if transport is None or not transport.is_active():
                # New pools on the new connection. The old ones are let go, not closed: a
                # request of another thread may be on one, and fails as a dropped
                # connection does rather than on a connection closed under it.
                self.pools = RecentlyUsedContainer(
                    docker.constants.DEFAULT_NUM_POOLS, dispose_func=lambda pool: pool.close()
                )
                if self.ssh_client is not None:
                    self.ssh_client.close()
                self._connect()
        return super().get_connection(url, proxies)


def api_client(engine: "Engine", *, timeout: int, pool_size: int) -> docker.APIClient:
    """The SDK's client on the engine's SSH connection. The SDK builds its own SSH transport
    from ~/.ssh; this one is mounted in its place on a client made without a network call,
    then asked the engine's API version (as version="auto" would)."""
    adapter = _PinnedAdapter(engine, timeout=timeout, pool_size=pool_size)
    client = docker.APIClient(base_url="unix:///nonexistent", version=PROBE_VERSION)
    client.timeout = timeout
    client.mount("http+docker://ssh", adapter)
    client._custom_adapter = adapter
    client.base_url = "http+docker://ssh"
    client.trust_env = False
    client._version = client.version(api_version=False)["ApiVersion"]
    return client


class ChannelSocket:
    """An SSH channel running `docker system dial-stdio`, with what raw.py asks of a
    socket. A channel that ends because its connection dropped raises, so a followed
    stream cut off is not taken for one that ended."""

    def __init__(self, connection: "_Connection", channel: paramiko.Channel) -> None:
        self.connection = connection
        self.channel = channel
        self.closed = False

    def settimeout(self, timeout: float | None) -> None:
        self.channel.settimeout(timeout)

    def gettimeout(self) -> float | None:
        return self.channel.gettimeout()

    def setblocking(self, blocking: bool) -> None:
        self.channel.setblocking(blocking)

    def fileno(self) -> int:
        """A descriptor that is readable while the channel holds data (paramiko's pipe)."""
        return self.channel.fileno()

    def sendall(self, data: bytes) -> None:
        self.channel.sendall(data)

    def send(self, data: bytes) -> int:
        return self.channel.send(data)

    def recv(self, size: int, flags: int = 0) -> bytes:
        channel = self.channel
        waiting = not (channel.recv_ready() or channel.eof_received or channel.closed)
        if flags & socket.MSG_DONTWAIT and waiting:
            raise BlockingIOError
        try:
            data = self.channel.recv(size)
        except (paramiko.SSHException, EOFError) as error:
            raise ConnectionResetError(f"{DROPPED}: {error}") from error
        if not data and not self.connection.active():
            raise ConnectionResetError(DROPPED)
        return data

    def shutdown(self, how: int) -> None:
        with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
            self.channel.shutdown(how)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
                self.channel.close()
            self.connection.release()


@dataclass(eq=False)
class _Connection:
    client: paramiko.SSHClient
    streams: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def active(self) -> bool:
        transport = self.client.get_transport()
        return transport is not None and transport.is_active()

    def release(self) -> None:
        with self.lock:
            self.streams -= 1


@dataclass(eq=False)
class _Pool:
    """One engine's stream connections; its lock is held while one is made, which holds up
    only that engine's streams."""

    connections: list[_Connection] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


_pools: dict[str, _Pool] = {}
_pools_lock = threading.Lock()


def open_channel(engine: "Engine", timeout: float) -> ChannelSocket:
    """A new channel to the engine for one request or stream, on a connection with room."""
    with _pools_lock:
        pool = _pools.setdefault(engine.slug, _Pool())
    with pool.lock:
        for dead in [c for c in pool.connections if not c.active()]:
            pool.connections.remove(dead)
            dead.client.close()
        connection = next((c for c in pool.connections if c.streams < STREAMS_PER_CONNECTION), None)
        if connection is None:
            connection = _Connection(_connected_client(engine))
            pool.connections.append(connection)
        with connection.lock:
            connection.streams += 1
    try:
        channel = connection.client.get_transport().open_session(timeout=timeout)
        channel.settimeout(timeout)
        channel.exec_command(DIAL)
    except BaseException:
        connection.release()
        raise
    return ChannelSocket(connection, channel)


def forget_streams(slug: str) -> None:
    with _pools_lock:
        pool = _pools.pop(slug, None)
    for connection in pool.connections if pool else ():
        connection.client.close()
