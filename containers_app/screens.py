"""Wall screens: their secret links (made, replaced and revoked, each with its audit entry and
the equivalent `python manage.py screens` line), the cookie a link is exchanged for, and who
manages which screens. What a tile shows is in tiles.py; the live feed in streams/walls.py.

A link carries a token that Berth keeps only as its SHA-256. Opening the link swaps the token
for a signed cookie that names the screen and a fingerprint of its token's hash: replacing
(rotating) or revoking the link makes every cookie handed out for it worthless, and the open
screens notice within a second (consumers/screens.py).
"""

import hashlib
import hmac
import secrets

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from containers_app import access, audit, cli, engines
from containers_app.engine import Engine
from containers_app.models import Screen, Team

TOKEN_BYTES = 32
# What a link's token looks like in a URL (secrets.token_urlsafe: 43 characters of these).
TOKEN_PATTERN = r"[A-Za-z0-9_-]{16,128}"
COOKIE_NAME = "berth_screen"
COOKIE_SALT = "berth.screens.cookie"
# Browsers keep a cookie 400 days at most; each load of the wall page renews it.
COOKIE_MAX_AGE = 400 * 24 * 3600
# How often an open screen's socket asks whether its link still holds (revoked, replaced),
# and every how many of those checks it looks again at which compose projects its team has.
CHECK_SECONDS = 1.0
RESCOPE_CHECKS = 10


class ScreenRevoked(Exception):
    """A revoked screen's link cannot be replaced: make a new screen."""


# --- tokens and cookies ---------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def fingerprint(token_hash: str) -> str:
    """What a screen's cookie carries of its token's hash: it changes with the token, and
    says nothing of the hash itself."""
    return hashlib.sha256(f"berth screen cookie {token_hash}".encode()).hexdigest()[:32]


def screen_for_token(token: str) -> Screen | None:
    """The screen whose link carries `token`, if it is not revoked."""
    return (
        Screen.objects.select_related("team")
        .filter(token_hash=hash_token(token), revoked__isnull=True)
        .first()
    )


def cookie_value(screen: Screen) -> str:
    return signing.dumps({"s": screen.pk, "f": fingerprint(screen.token_hash)}, salt=COOKIE_SALT)


def read_cookie(value: str) -> tuple[int, str] | None:
    """(screen id, fingerprint) of a screen cookie's value, if Berth signed it."""
    if not value:
        return None
    try:
        data = signing.loads(value, salt=COOKIE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    screen_id, mark = data.get("s"), data.get("f")
    if not isinstance(screen_id, int) or not isinstance(mark, str):
        return None
    return screen_id, mark


def screen_for_cookie(value: str) -> Screen | None:
    """The screen a cookie opens: signed by Berth, for a screen not revoked, whose link has
    not been replaced since."""
    found = read_cookie(value)
    if found is None:
        return None
    screen_id, mark = found
    screen = Screen.objects.select_related("team").filter(pk=screen_id, revoked__isnull=True)
    screen = screen.first()
    if screen is None or not hmac.compare_digest(fingerprint(screen.token_hash), mark):
        return None
    return screen


def still_valid(screen_id: int, mark: str) -> bool:
    """Whether a screen's cookie still opens it: one query, asked every CHECK_SECONDS."""
    token_hash = (
        Screen.objects.filter(pk=screen_id, revoked__isnull=True)
        .values_list("token_hash", flat=True)
        .first()
    )
    return token_hash is not None and hmac.compare_digest(fingerprint(token_hash), mark)


def set_cookie(response: HttpResponse, request: HttpRequest, screen: Screen) -> None:
    """Gives the browser the screen's cookie: only Berth's own pages send it (Strict), no
    script reads it, and over HTTPS only where the page came over HTTPS."""
    response.set_cookie(
        COOKIE_NAME,
        cookie_value(screen),
        max_age=COOKIE_MAX_AGE,
        path="/",
        secure=request.is_secure(),
        httponly=True,
        samesite="Strict",
    )


# --- who manages which screens ---------------------------------------------------------------


def managed_teams(actor: access.Actor) -> tuple[list[str], bool]:
    """The teams (slugs) whose screens `actor` may make, replace and revoke, and whether they
    may for screens of the whole host: superusers every team and the host; team admins
    their teams."""
    if not actor.is_user:
        return [], False
    if actor.superuser:
        return list(Team.objects.values_list("slug", flat=True)), True
    return access.teams_for(actor, access.ADMINISTER), False


def may_manage(actor: access.Actor, screen: Screen) -> bool:
    teams, every = managed_teams(actor)
    if screen.team_id is None:
        return every
    return every or screen.team.slug in teams


def managed_screens(actor: access.Actor):
    """The screens `actor` may manage, newest first (revoked ones too, for the record)."""
    teams, every = managed_teams(actor)
    screens = (
        Screen.objects.select_related("team", "created_by")
        .prefetch_related("engines")
        .order_by("-created", "-pk")
    )
    return screens if every else screens.filter(team__slug__in=teams)


# --- changes, each with its audit entry ------------------------------------------------------


def command_create(
    name: str, team: str | None, project: str = "", logs: bool = False, on: tuple[str, ...] = ()
) -> str:
    scope = ["--team", team] if team else ["--every-team"]
    extra = (["--project", project] if project else []) + (["--logs"] if logs else [])
    for slug in on:
        extra += ["--engine", slug]
    return cli.manage("screens", "create", name, *scope, *extra)


def command_list() -> str:
    return cli.manage("screens", "list")


def command_rotate(screen: Screen) -> str:
    return cli.manage("screens", "rotate", str(screen.pk))


def command_revoke(screen: Screen) -> str:
    return cli.manage("screens", "revoke", str(screen.pk))


def team_of(screen: Screen) -> str:
    return screen.team.slug if screen.team_id else ""


def engine_slugs(screen: Screen) -> list[str]:
    """The slugs of the engines `screen` is for, the default one first."""
    return sorted(
        (row.slug for row in screen.engines.all()),
        key=lambda slug: (slug != settings.BERTH_DEFAULT_ENGINE, slug),
    )


def engines_of(screen: Screen) -> list[Engine]:
    """The engines whose containers `screen` shows: those it is for that its team may use
    (an engine taken from the team since shows nothing of itself), the default one first."""
    team = team_of(screen)
    chosen = [engines.as_engine(row) for row in screen.engines.all()]
    usable = {engine.slug: engine for engine in chosen if not team or engine.granted(team)}
    return [usable[slug] for slug in engine_slugs(screen) if slug in usable]


def describe(screen: Screen) -> str:
    """What a screen shows, in words: for pages, audit entries and `screens list`."""
    where = f"team {screen.team.slug}" if screen.team_id else "every container on the host"
    if screen.project:
        where += f", compose project {screen.project}"
    slugs = engine_slugs(screen)
    where += f", on engine{'s' if len(slugs) > 1 else ''} {', '.join(slugs) or '(none)'}"
    return where + (", with log lines" if screen.show_logs else "")


def _record(
    by,
    *,
    action: str,
    screen: Screen,
    command: str,
    message: str = "",
    error: str = "",
    denied: bool = False,
) -> None:
    """One audit entry of a screen's change: done, failed (`error`: why) or refused
    (`denied`); never its token. `by` None: from the shell."""
    audit.write(
        user=by if by is not None and by.is_authenticated else None,
        username=by.get_username() if by is not None else audit.SHELL,
        engine="",
        action=action,
        target=f"screen {screen.pk} {screen.name}",
        command=command,
        succeeded=not error,
        message=error or message,
        team=team_of(screen),
        denied=denied,
    )


def refused(by, *, action: str, screen: Screen, command: str, reason: str) -> None:
    """Records a change of `screen` that access refused."""
    _record(by, action=action, screen=screen, command=command, error=reason, denied=True)


def screen_create(
    *,
    by,
    name: str,
    team: Team | None,
    on: list[str],
    project: str = "",
    show_logs: bool = False,
) -> tuple[Screen, str]:
    """Makes a screen of the engines named `on` (slugs, checked by the caller); returns it
    and its link's token, which is not kept (only its hash): the caller shows it once."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction.atomic():
        screen = Screen.objects.create(
            name=name,
            team=team,
            project=project,
            show_logs=show_logs,
            token_hash=hash_token(token),
            created_by=by if by is not None and by.is_authenticated else None,
        )
        screen.engines.set([engines.row_of(slug) for slug in on])
        command = command_create(
            name, team.slug if team else None, project, show_logs, tuple(engine_slugs(screen))
        )
        _record(
            by, action="screen create", screen=screen, command=command, message=describe(screen)
        )
    return screen, token


def screen_rotate(*, by, screen: Screen) -> str:
    """Gives `screen` a new link; the old one and every cookie it was swapped for stop
    working. Returns the new token. Raises ScreenRevoked for a revoked screen."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction.atomic():
        changed = Screen.objects.filter(pk=screen.pk, revoked__isnull=True).update(
            token_hash=hash_token(token)
        )
        if changed:
            screen.token_hash = hash_token(token)
            _record(
                by,
                action="screen rotate",
                screen=screen,
                command=command_rotate(screen),
                message="new link; the old one no longer opens it",
            )
    if not changed:
        reason = "This screen is revoked: make a new one instead."
        _record(
            by, action="screen rotate", screen=screen, command=command_rotate(screen), error=reason
        )
        raise ScreenRevoked(reason)
    return token


def screen_revoke(*, by, screen: Screen) -> bool:
    """Revokes `screen`: its link and cookies stop working, and its open walls close.
    Returns False if it was revoked already."""
    with transaction.atomic():
        now = timezone.now()
        changed = Screen.objects.filter(pk=screen.pk, revoked__isnull=True).update(revoked=now)
        if changed:
            screen.revoked = now
            _record(
                by,
                action="screen revoke",
                screen=screen,
                command=command_revoke(screen),
                message="its link and open walls stop working",
            )
    return bool(changed)
