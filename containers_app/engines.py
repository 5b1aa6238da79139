"""The engines Berth manages: adding, removing and granting them, and each as the engine
package's `Engine`, its keys and certificates written 0600 under the data folder (the SDK's
TLS takes paths, and compose will need them), never in anyone's ~/.ssh."""

import os
import re
import shutil
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction

from containers_app import credentials
from containers_app.engine import Engine, ssh
from containers_app.engine.client import forget_slug
from containers_app.models import Application, ImageOrigin, ProjectAssignment, Team
from containers_app.models import Engine as EngineRow

# The URL parameter naming the engine (/engines/<slug>/..., /ws/engines/<slug>/...).
ENGINE_KWARG = "engine"
# `all` names the page of every engine at once; the others are paths under /engines/<slug>/.
RESERVED_SLUGS = ("all", "new", "host-key")
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
TLS_FILES = {"tls_ca": "ca.pem", "tls_cert": "cert.pem", "tls_key": "key.pem"}
SSH_KEY_FILE = "id_key"
MAX_TIMEOUT = 3600
# What `docker context create` accepts as a name.
CLI_CONTEXT = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.+-]{0,63}$")
FINGERPRINT = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}$")


class NoSuchEngine(LookupError):
    """No engine has this slug (or the one asked for may not be used by whoever asks)."""


class EngineRefused(ValueError):
    """An engine that cannot be added as given; the message says what to change."""


def credential_folder(slug: str) -> Path:
    return Path(settings.DATA_DIR) / "engines" / slug


@dataclass(frozen=True)
class Credentials:
    """What reaching an engine takes besides its address, as the person gave it."""

    tls_ca: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    ssh_key: str = ""
    ssh_host_key: str = ""


def _write_private(path: Path, text: str) -> None:
    """Writes `text` readable by Berth's user alone, from the first byte; whole or not at
    all, as a connection may be reading the file this replaces."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    temporary.replace(path)


_cache: dict[str, tuple[object, Engine]] = {}
_cache_lock = threading.Lock()


def as_engine(row: EngineRow) -> Engine:
    """The engine package's view of `row`, its credential files written when the row is new
    to this process or changed since."""
    # The default engine is where DOCKER_HOST points, as for the docker CLI: its row keeps
    # its name, grants and description.
    address = settings.DOCKER_HOST if row.slug == settings.BERTH_DEFAULT_ENGINE else row.address
    timeout = row.timeout or settings.DOCKER_TIMEOUT
    version = (row.updated, address, timeout)
    with _cache_lock:
        cached = _cache.get(row.slug)
    if cached is not None and cached[0] == version:
        return cached[1]
    folder = credential_folder(row.slug)
    paths: dict[str, str] = {}
    files = {**TLS_FILES, "ssh_key": SSH_KEY_FILE}
    try:
        for field, filename in files.items():
            if getattr(row, field):
                _write_private(folder / filename, credentials.decrypt(getattr(row, field)))
                paths[field] = str(folder / filename)
    except credentials.CredentialUnreadable:
        # Listed all the same (one engine's keys must not take every page down); every call
        # to it says why it cannot be reached.
        paths = {
            "unusable": f"the keys stored for engine {row.slug} cannot be decrypted with the "
            "current BERTH_CREDENTIALS_KEY: remove the engine and add it again"
        }
    engine = Engine(
        slug=row.slug,
        name=row.name,
        base_url=address,
        timeout=timeout,
        ssh_host_key=row.ssh_host_key,
        cli_context=row.cli_context,
        revision=row.updated.isoformat(),
        teams=frozenset(row.teams.values_list("slug", flat=True)),
        every_team=row.every_team,
        **paths,
    )
    with _cache_lock:
        _cache[row.slug] = (version, engine)
    return engine


def get(slug: str) -> Engine:
    row = EngineRow.objects.filter(slug=slug).first()
    if row is not None:
        return as_engine(row)
    if slug == settings.BERTH_DEFAULT_ENGINE:
        return unregistered_default()
    raise NoSuchEngine(slug)


def default() -> Engine:
    return get(settings.BERTH_DEFAULT_ENGINE)


def unregistered_default() -> Engine:
    """The default engine while it has no row (a database emptied since its first migrate):
    DOCKER_HOST, for every team, as Berth was before it knew several engines."""
    return Engine(
        slug=settings.BERTH_DEFAULT_ENGINE,
        name="Local engine",
        base_url=settings.DOCKER_HOST,
        timeout=settings.DOCKER_TIMEOUT,
        every_team=True,
    )


def row_of(slug: str) -> EngineRow:
    """The row of the engine named `slug`, for a row that refers to it; the default engine's
    is registered again if its row is gone (as migration 0011 first made it)."""
    if slug == settings.BERTH_DEFAULT_ENGINE:
        default = unregistered_default()
        row, _ = EngineRow.objects.get_or_create(
            slug=slug,
            defaults={
                "name": default.name,
                "address": default.base_url,
                "description": "The Docker Engine of the host Berth runs on.",
                "every_team": True,
            },
        )
        return row
    row = EngineRow.objects.filter(slug=slug).first()
    if row is None:
        raise NoSuchEngine(slug)
    return row


def listed() -> list[Engine]:
    """Every engine, the default one first."""
    every = [as_engine(row) for row in EngineRow.objects.all()]
    if not any(engine.slug == settings.BERTH_DEFAULT_ENGINE for engine in every):
        every.append(unregistered_default())
    return sorted(every, key=lambda engine: engine.slug != settings.BERTH_DEFAULT_ENGINE)


def usable(user, slug: str) -> Engine | None:
    """The engine named `slug` ("": the default one), if it exists and `user` may use it;
    None, the same for both, otherwise. What an engine's URL or websocket route names."""
    try:
        engine = get(slug or settings.BERTH_DEFAULT_ENGINE)
    except NoSuchEngine:
        return None
    return engine if user is not None and may_use(user, engine) else None


def may_use(user, engine: Engine) -> bool:
    """Superusers use every engine; others those granted to one of their teams."""
    if not (user.is_authenticated and user.is_active):
        return False
    if user.is_superuser:
        return True
    mine = user.memberships.values_list("team__slug", flat=True)
    return any(engine.granted(team) for team in mine)


def usable_by(user) -> list[Engine]:
    if not (user.is_authenticated and user.is_active):
        return []
    every = listed()
    if user.is_superuser:
        return every
    mine = set(user.memberships.values_list("team__slug", flat=True))
    return [engine for engine in every if any(engine.granted(team) for team in mine)]


def home_of(user) -> Engine | None:
    """The engine a user's pages about no engine (teams, jobs, registry logins) act through
    and lead to: the default one if they may use it, else the first they may."""
    default_engine = default()
    if user is not None and may_use(user, default_engine):
        return default_engine
    return next(iter(usable_by(user)), None) if user is not None else None


def usable_by_team(team: str, *, including: Engine) -> list[Engine]:
    """The engines `team` may use, `including` first (the one asked about, granted or not)."""
    return [including] + [
        engine for engine in listed() if engine.slug != including.slug and engine.granted(team)
    ]


def check_timeout(seconds: int | None) -> int | None:
    """A call timeout as stored, or EngineRefused: whole seconds, 1 to an hour."""
    if seconds is not None and not 1 <= seconds <= MAX_TIMEOUT:
        raise EngineRefused(f"An engine's timeout is 1 to {MAX_TIMEOUT} seconds.")
    return seconds


def check_cli_context(name: str) -> str:
    """A docker context's name as the CLI takes it, or EngineRefused."""
    name = name.strip()
    if name and not CLI_CONTEXT.match(name):
        raise EngineRefused(
            "A docker context's name holds letters, digits and _ . + - only, and starts with a "
            "letter or digit."
        )
    return name


def check_address(address: str) -> str:
    """The address as stored, or EngineRefused saying what is wrong with it."""
    address = address.strip()
    url = urllib.parse.urlsplit(address)
    if url.scheme == "unix":
        if url.netloc or not url.path.startswith("/"):
            raise EngineRefused("A unix socket's address is unix:///absolute/path.")
        return address
    if url.scheme == "tcp":
        if not url.hostname or url.path not in ("", "/"):
            raise EngineRefused("A TCP address is tcp://host:port (2376 for TLS).")
        return address
    if url.scheme == "ssh":
        try:
            ssh.address_of(address)
        except ValueError as error:
            raise EngineRefused(str(error)) from None
        return address
    raise EngineRefused("An engine's address is unix://…, tcp://host:2376 or ssh://user@host.")


def check_credentials(address: str, given: Credentials) -> None:
    """What each transport needs, and nothing it would ignore. A plain TCP engine, with no
    TLS, would hand root on its host to anyone on the network: refused."""
    scheme = address.split("://", 1)[0]
    tls = (given.tls_ca, given.tls_cert, given.tls_key)
    if scheme == "tcp" and not all(tls):
        raise EngineRefused(
            "A TCP engine needs TLS: its CA, Berth's client certificate and that "
            "certificate's key (an engine on TCP without TLS is root to anyone who reaches it)."
        )
    if scheme != "tcp" and any(tls):
        raise EngineRefused("TLS certificates are only for tcp:// addresses.")
    if scheme == "ssh":
        if not given.ssh_key:
            raise EngineRefused("An SSH engine needs a private key (without a passphrase).")
        try:
            ssh.load_key(given.ssh_key)
        except ssh.KeyProblem as error:
            raise EngineRefused(str(error)) from None
        if not FINGERPRINT.match(given.ssh_host_key):
            raise EngineRefused(
                "An SSH engine needs its host key's fingerprint, as ssh-keygen -lf prints it "
                "(SHA256:…, 43 characters after the colon), to be pinned."
            )
    elif given.ssh_key or given.ssh_host_key:
        raise EngineRefused("An SSH key and host key are only for ssh:// addresses.")


def check_slug(slug: str) -> str:
    if not SLUG.match(slug) or slug in RESERVED_SLUGS:
        raise EngineRefused(
            "An engine's slug is lowercase letters, digits and hyphens (at most 63), and not "
            + " or ".join(RESERVED_SLUGS)
            + "."
        )
    if EngineRow.objects.filter(slug=slug).exists():
        raise EngineRefused(f"An engine named {slug} exists already.")
    return slug


def engine_add(
    *,
    slug: str,
    address: str,
    name: str = "",
    description: str = "",
    given: Credentials = Credentials(),
    teams: list[Team] | tuple[Team, ...] = (),
    every_team: bool = False,
    cli_context: str = "",
    timeout: int | None = None,
) -> Engine:
    """Registers an engine (nothing is asked of it: health.check does that). `timeout`:
    seconds a call to it may take (None: BERTH_DOCKER_TIMEOUT)."""
    slug = check_slug(slug)
    cli_context = check_cli_context(cli_context)
    timeout = check_timeout(timeout)
    address = check_address(address)
    check_credentials(address, given)
    secrets = {
        field: credentials.encrypt(value)
        for field, value in (
            ("tls_ca", given.tls_ca),
            ("tls_cert", given.tls_cert),
            ("tls_key", given.tls_key),
            ("ssh_key", given.ssh_key),
        )
        if value
    }
    try:
        with transaction.atomic():
            row = EngineRow.objects.create(
                slug=slug,
                name=name or slug,
                address=address,
                description=description,
                ssh_host_key=given.ssh_host_key,
                cli_context=cli_context,
                timeout=timeout,
                every_team=every_team,
                **secrets,
            )
            row.teams.set(teams)
    except IntegrityError:  # the same slug, added at the same moment
        raise EngineRefused(f"An engine named {slug} exists already.") from None
    return as_engine(row)


def engine_set_context(*, slug: str, cli_context: str) -> Engine:
    """Sets (or, with "", clears) the docker context that commands shown for the engine name."""
    cli_context = check_cli_context(cli_context)
    with transaction.atomic():
        row = EngineRow.objects.select_for_update().filter(slug=slug).first()
        if row is None:
            raise NoSuchEngine(slug)
        row.cli_context = cli_context
        row.save(update_fields=["cli_context", "updated"])
    return as_engine(row)


def engine_grant(
    *, slug: str, teams: list[Team] | tuple[Team, ...], every_team: bool = False
) -> Engine:
    """Sets which teams may use the engine (or every team)."""
    with transaction.atomic():
        row = EngineRow.objects.select_for_update().get(slug=slug)
        row.teams.set(teams)
        row.every_team = every_team
        # A new revision: what was cached of it, in this process or another, is stale.
        row.save(update_fields=["updated", "every_team"])
    return as_engine(row)


def engine_pin(*, slug: str, ssh_host_key: str) -> Engine:
    """Pins another host key for an SSH engine (its host was reinstalled): its connections
    are made again with it."""
    if not FINGERPRINT.match(ssh_host_key):
        raise EngineRefused(
            "A host key is pinned by its fingerprint: SHA256:… as ssh-keygen -lf prints it."
        )
    with transaction.atomic():
        row = EngineRow.objects.select_for_update().filter(slug=slug).first()
        if row is None:
            raise NoSuchEngine(slug)
        if not row.address.startswith("ssh://"):
            raise EngineRefused(f"{slug} is not an SSH engine: it has no host key.")
        row.ssh_host_key = ssh_host_key
        row.save(update_fields=["ssh_host_key", "updated"])
    forget_slug(slug)
    return as_engine(row)


def engine_remove(*, slug: str) -> None:
    """Forgets an engine: its row, its compose projects' and images' team records, its
    applications and their revisions, its credential files and clients. The audit trail
    keeps naming it. The default engine cannot be removed."""
    if slug == settings.BERTH_DEFAULT_ENGINE:
        raise EngineRefused(f"{slug} is the default engine (BERTH_DEFAULT_ENGINE): it stays.")
    with transaction.atomic():
        deleted, _ = EngineRow.objects.filter(slug=slug).delete()
        if not deleted:
            raise NoSuchEngine(slug)
        ProjectAssignment.objects.filter(engine=slug).delete()
        ImageOrigin.objects.filter(engine=slug).delete()
        Application.objects.filter(engine=slug).delete()
    shutil.rmtree(credential_folder(slug), ignore_errors=True)
    with _cache_lock:
        _cache.pop(slug, None)
    forget_slug(slug)
