"""Engine errors, translated once from the SDK's so nothing above engine/ sees docker's types."""

from collections.abc import Iterator
from contextlib import contextmanager

import docker.errors
import paramiko
import requests.exceptions


class EngineError(Exception):
    """Something the engine refused or could not do; `reason` is fit to show a person."""

    def __init__(self, reason: str, *, engine: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.engine = engine


class EngineUnavailable(EngineError):
    """The engine cannot be reached, or did not answer in time."""


class NotFound(EngineError):
    """No such container, image, network or volume."""


class Conflict(EngineError):
    """The object's state forbids the action: running, in use, has endpoints."""


class InvalidRequest(EngineError):
    """The engine rejected the arguments: a bad name, option or value."""


def _reason(error: docker.errors.APIError) -> str:
    text = error.explanation or str(error)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return str(text).strip()


def translate(error: Exception, *, engine: str) -> EngineError:
    """The EngineError that stands for an SDK or transport error."""
    if isinstance(error, docker.errors.NotFound):
        return NotFound(_reason(error), engine=engine)
    if isinstance(error, docker.errors.APIError):
        status = error.status_code or 500
        if status in (409, 403):
            # The engine answers 403 for a network that still has endpoints.
            return Conflict(_reason(error), engine=engine)
        if 400 <= status < 500:
            return InvalidRequest(_reason(error), engine=engine)
        return EngineError(_reason(error), engine=engine)
    if isinstance(error, EOFError):
        return EngineUnavailable("SSH: the connection to the engine's host dropped", engine=engine)
    if isinstance(error, paramiko.SSHException | paramiko.ssh_exception.NoValidConnectionsError):
        return EngineUnavailable(_ssh_reason(error), engine=engine)
    if isinstance(error, requests.exceptions.SSLError):
        return EngineUnavailable(tls_reason(error), engine=engine)
    if isinstance(error, requests.exceptions.Timeout | TimeoutError):
        return EngineUnavailable("the engine did not answer in time", engine=engine)
    if isinstance(error, (requests.exceptions.ConnectionError, ConnectionError)):
        return EngineUnavailable(_connection_reason(error), engine=engine)
    if isinstance(error, requests.exceptions.RequestException):
        # ChunkedEncodingError and the like: the engine went away in the middle of its answer.
        return EngineUnavailable(f"the engine's answer could not be read: {error}", engine=engine)
    if isinstance(
        error,
        (
            docker.errors.InvalidArgument,
            docker.errors.InvalidRepository,
            docker.errors.NullResource,
        ),
    ):
        # The SDK refuses these arguments itself, before asking the engine.
        return InvalidRequest(str(error), engine=engine)
    if isinstance(error, docker.errors.DockerException):
        # Building a client asks the engine its API version and wraps a transport error in a
        # plain DockerException; say what went wrong as a later call would.
        cause = error.__cause__
        transport = (requests.exceptions.ConnectionError, requests.exceptions.Timeout)
        if isinstance(cause, (*transport, ConnectionError, paramiko.SSHException)):
            return translate(cause, engine=engine)
        return EngineUnavailable(str(error), engine=engine)
    raise error


def _ssh_reason(error: Exception) -> str:
    if isinstance(error, paramiko.AuthenticationException):
        return "SSH: the host refused the key given for the engine (permission denied)"
    if isinstance(error, paramiko.ChannelException):
        return f"SSH: the host refused another session ({error}); see sshd's MaxSessions"
    if isinstance(error, paramiko.ssh_exception.NoValidConnectionsError):
        return "SSH: connection refused"
    text = str(error)
    return text if text.startswith("the SSH host key") else f"SSH: {text}"


def tls_reason(error: Exception) -> str:
    text = str(error)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return (
            "TLS: the engine's certificate is not signed by the CA given for it, or does not "
            "name its address"
        )
    if any(alert in text for alert in ("BAD_CERTIFICATE", "UNKNOWN_CA", "CERTIFICATE_REQUIRED")):
        return "TLS: the engine refused Berth's client certificate"
    return f"TLS: {text}"


def _connection_reason(error: Exception) -> str:
    text = str(error)
    for known in ("No such file or directory", "Connection refused", "Permission denied"):
        if known in text:
            return known.lower()
    return text


@contextmanager
def translated(engine: str) -> Iterator[None]:
    """Runs engine calls, raising EngineError subclasses in place of the SDK's errors."""
    try:
        yield
    except EngineError:
        raise
    except (
        docker.errors.DockerException,
        requests.exceptions.RequestException,
        ConnectionError,
        paramiko.SSHException,
        paramiko.ssh_exception.NoValidConnectionsError,
        TimeoutError,
        # paramiko's, when its connection ends under a call (it keeps the reader's error).
        EOFError,
    ) as error:
        raise translate(error, engine=engine) from error
