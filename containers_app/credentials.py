"""Registry logins kept for each user (`docker login`), their passwords encrypted at rest, and
handed back decrypted only to the pull or push of the user who stored them."""

import functools

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from containers_app import access
from containers_app.engine.registries import (
    DOCKER_HUB,
    InvalidServer,
    normalise_server,
    registry_of,
)
from containers_app.models import RegistryCredential
from dashboard import datadir


class CredentialUnreadable(Exception):
    """A stored password that the current key cannot decrypt: the key was changed or lost."""


def _key() -> str:
    """BERTH_CREDENTIALS_KEY, or the key generated into the data folder: neither the database
    (a copy of it alone must reveal nothing) nor the Django secret key (rotating that must
    not lose every login)."""
    return settings.BERTH_CREDENTIALS_KEY or datadir.credentials_key(settings.DATA_DIR)


@functools.lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    try:
        return Fernet(key.strip().encode())
    except ValueError as error:
        raise ImproperlyConfigured(
            "BERTH_CREDENTIALS_KEY is not a Fernet key (32 random bytes in url-safe base64); "
            'make one with: python3 -c "import base64, os; '
            'print(base64.urlsafe_b64encode(os.urandom(32)).decode())"'
        ) from error


def encrypt(password: str) -> str:
    return _fernet(_key()).encrypt(password.encode()).decode("ascii")


def decrypt(secret: str) -> str:
    try:
        return _fernet(_key()).decrypt(secret.encode("ascii")).decode()
    except InvalidToken as error:
        raise CredentialUnreadable(
            "a stored registry password cannot be decrypted with the current key; "
            "log in to that registry again"
        ) from error


def visible_to(user) -> QuerySet[RegistryCredential]:
    """The logins `user` may see and remove: their own; a superuser, everyone's."""
    credentials = RegistryCredential.objects.select_related("owner")
    if access.administers_host(user):  # access.ANY_CREDENTIAL
        return credentials
    return credentials.filter(owner=user)


def store(*, owner, server: str, username: str, password: str) -> RegistryCredential:
    """Keeps `owner`'s login to `server`, replacing the one they had there. Call it only once
    the registry has accepted the password: nothing here checks it."""
    with transaction.atomic():
        credential, _ = RegistryCredential.objects.update_or_create(
            owner=owner,
            server=server,
            # `created` is when this login was made: a replaced one is new.
            defaults={"username": username, "secret": encrypt(password), "created": timezone.now()},
        )
    return credential


def server_of(reference_or_server: str) -> str:
    """The registry an image reference or a registry address names, normalised as logins are
    stored. With a "/" it is a reference (docker's rule: `registry_of`). Without one it is an
    address when it has a scheme, is one of Docker Hub's names, or is a host that can only be a
    registry's: `localhost[:port]`, or a dotted host with a numeric port or none
    (`127.0.0.1:5000`, `registry.example.com`); anything else (`busybox`, `redis:7`) is an
    image on Docker Hub, as `docker pull` reads it."""
    text = reference_or_server.strip()
    if "://" in text or text.endswith("/"):
        return _address_or_hub(text)
    if "/" in text:
        return registry_of(text)
    host, _, port = text.partition(":")
    if host.lower() == "localhost" or ("." in host and (not port or port.isdigit())):
        return _address_or_hub(text)
    return registry_of(text)


def _address_or_hub(text: str) -> str:
    try:
        return normalise_server(text)
    except InvalidServer:
        # An address no login can be stored under; it matches none.
        return text.lower()


def registry_auth(user, reference_or_server: str) -> dict[str, str] | None:
    """The auth a pull or push of `reference_or_server` needs for `user`: their own stored
    login to that registry, decrypted, as the engine takes it (`X-Registry-Auth`, the SDK's
    `auth_config`): {"username", "password", "serveraddress"}. None when they have none.

    Only the user's own: a superuser who may see others' logins does not pull with them.
    Raises CredentialUnreadable when the stored password cannot be decrypted."""
    if not getattr(user, "is_authenticated", False):
        return None
    server = server_of(reference_or_server)
    credential = RegistryCredential.objects.filter(owner=user, server=server).first()
    if credential is None:
        return None
    return {
        "username": credential.username,
        "password": decrypt(credential.secret),
        "serveraddress": credential.server,
    }


def registry_auths(user) -> dict[str, dict[str, str]]:
    """Every login of `user`'s own, by registry, as a build takes them (`X-Registry-Config`):
    a Dockerfile's FROM lines may name any registry, so the CLI sends all the logins it has,
    and so does this. A login the current key cannot decrypt is left out rather than
    stopping a build that may not need it: a pull that does then fails saying so."""
    if not getattr(user, "is_authenticated", False):
        return {}
    auths = {}
    for credential in RegistryCredential.objects.filter(owner=user):
        try:
            password = decrypt(credential.secret)
        except CredentialUnreadable:
            continue
        auths[credential.server] = {
            "username": credential.username,
            "password": password,
            "serveraddress": credential.server,
        }
    return auths


__all__ = [
    "DOCKER_HUB",
    "CredentialUnreadable",
    "decrypt",
    "encrypt",
    "registry_auth",
    "registry_auths",
    "registry_of",
    "server_of",
    "store",
    "visible_to",
]
