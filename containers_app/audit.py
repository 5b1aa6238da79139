"""Records each change made through Berth (and each attempt access refused), and reads the
trail back for the audit page: which entries a user may see, and which match its filters."""

from collections.abc import Mapping

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from containers_app import access, actors, cli
from containers_app.engine import Engine
from containers_app.models import AuditEntry
from containers_app.streams import audit_feed

# The values of the audit page's result filter (forms.AuditFilterForm).
OK, FAILED, DENIED = "ok", "failed", "denied"


def write(
    *,
    user,
    username: str,
    engine: str,
    action: str,
    target: str,
    command: str,
    succeeded: bool,
    object_id: str = "",
    message: str = "",
    team: str = "",
    denied: bool = False,
    ticket: str | None = None,
) -> AuditEntry:
    """Creates an audit entry and hands it to the audit pages open in this process. Every
    entry is written through here, from whichever thread: requests, jobs, terminals."""
    entry = AuditEntry.objects.create(
        user=user,
        username=username,
        engine=engine,
        action=action[:64],
        target=target[:255],
        object_id=object_id[:80],
        command=command,
        succeeded=succeeded,
        message=message,
        team=team,
        denied=denied,
        ticket=ticket,
    )
    _publish_when_committed(entry.pk)
    return entry


def _publish_when_committed(entry_id: int) -> None:
    # Viewers read the entry back from the database, which shows it only once committed; an
    # entry rolled back (a terminal's reused ticket) is never published. Outside a
    # transaction this runs at once.
    transaction.on_commit(lambda: audit_feed.publish(entry_id))


def record(
    request: HttpRequest,
    *,
    engine: Engine,
    action: str,
    target: str,
    command: str,
    object_id: str = "",
    error: Exception | None = None,
    team: str = "",
    denied: bool = False,
) -> None:
    """Records a request's change: done, failed (`error`), or refused by access (`denied`,
    with `error` saying why). `target` names the object as the user sees it, `object_id`
    is its full id (or digest), so the trail finds an entry by either."""
    write(
        user=request.user if request.user.is_authenticated else None,
        username=request.user.get_username(),
        engine=engine.slug,
        action=action,
        target=target,
        object_id=object_id,
        command=cli.on_engine(command, engine, default=settings.BERTH_DEFAULT_ENGINE),
        succeeded=error is None,
        message=getattr(error, "reason", str(error or "")),
        team=team,
        denied=denied,
    )


def denied(*, user, engine: Engine, action: str, reason: str) -> None:
    """Records an attempt access refused a signed-in user. Only the route and method (in
    `action`) and the reason: no object, no parameters, no command, since the attempt may
    name objects its author may not know about, and the entry is of no team."""
    write(
        user=user,
        username=user.get_username(),
        engine=engine.slug,
        action=action,
        target="",
        command="",
        succeeded=False,
        message=reason,
        denied=True,
    )


def terminal_opened(
    *, user, engine: Engine, container: str, command: str, ticket: str, team: str = ""
) -> int | None:
    """Records a terminal being opened in a container of `team`; its id, or None if this
    ticket already opened one."""
    try:
        with transaction.atomic():
            entry = write(
                user=user,
                username=user.get_username(),
                engine=engine.slug,
                action="exec",
                target=container,
                command=cli.on_engine(command, engine, default=settings.BERTH_DEFAULT_ENGINE),
                succeeded=True,
                ticket=ticket,
                team=team,
            )
    except IntegrityError:
        return None
    return entry.pk


def terminal_ended(entry_id: int, *, exit_code: int | None = None, error: str = "") -> None:
    """Records how a terminal ended: its process's exit code, or why it never ran."""
    if error:
        message = error
    elif exit_code is None:
        message = "closed before its process ended"
    else:
        message = f"exited with code {exit_code}"
    AuditEntry.objects.filter(pk=entry_id).update(
        exit_code=exit_code, succeeded=not error, message=message
    )
    # Its row on the audit pages shows the new result (the page replaces a row by its id).
    _publish_when_committed(entry_id)


# --- reading the trail ------------------------------------------------------------------------


def scope_of(user) -> str | frozenset[str] | None:
    """access.audit_scope for `user`, with their roles looked up."""
    return access.audit_scope(actors.of_user(user, None))


def visible_entries(user) -> QuerySet | None:
    """The entries `user` may see, newest first; None if they may see none (no audit
    page at all). The one visibility rule of the page, its export and its live feed."""
    scope = scope_of(user)
    if scope is None:
        return None
    entries = AuditEntry.objects.order_by("-created", "-pk")
    return entries if scope == access.AUDIT_ALL else entries.filter(team__in=scope)


def matching(entries: QuerySet, filters: Mapping) -> QuerySet:
    """`entries` narrowed by the audit filters (forms.AuditFilterForm.filters())."""
    if "user" in filters:
        entries = entries.filter(username=filters["user"])
    if "team" in filters:
        entries = entries.filter(team=filters["team"])
    if "engine" in filters:
        entries = entries.filter(engine=filters["engine"])
    if "action" in filters:
        entries = entries.filter(action=filters["action"])
    if "object" in filters:
        named = filters["object"]
        entries = entries.filter(Q(target__icontains=named) | Q(object_id__icontains=named))
    if "since" in filters:
        entries = entries.filter(created__gte=filters["since"])
    if "until" in filters:
        entries = entries.filter(created__lte=filters["until"])
    if "after" in filters:
        entries = entries.filter(pk__gt=filters["after"])
    result = filters.get("result")
    if result == OK:
        entries = entries.filter(succeeded=True, denied=False)
    elif result == FAILED:
        entries = entries.filter(succeeded=False, denied=False)
    elif result == DENIED:
        entries = entries.filter(denied=True)
    if "q" in filters:
        text = filters["q"]
        entries = entries.filter(
            Q(command__icontains=text)
            | Q(message__icontains=text)
            | Q(target__icontains=text)
            | Q(object_id__icontains=text)
        )
    return entries


def result_of(entry: AuditEntry) -> str:
    """What an entry's result is called: succeeded, failed or denied."""
    if entry.denied:
        return "denied"
    return "succeeded" if entry.succeeded else "failed"


# Who made a change from the shell (`python manage.py teams ...`): no Berth user.
SHELL = "(shell)"


def team_change(
    *,
    user,
    action: str,
    team: str,
    command: str,
    message: str = "",
    error: str = "",
    denied: bool = False,
) -> None:
    """Records a change to a team or its members (no engine is involved): done, failed
    (`error`: why), or refused by access (`denied`, with `error` saying why). `user` None: made
    from the shell."""
    write(
        user=user if user is not None and user.is_authenticated else None,
        username=user.get_username() if user is not None else SHELL,
        engine="",
        action=action,
        target=team,
        command=command,
        succeeded=not error,
        message=error or message,
        team=team[:63],
        denied=denied,
    )


def engine_change(*, user, slug: str, action: str, command: str, message: str = "") -> None:
    """Records an engine added, granted or removed (a superuser's change). `user` None: made
    from the shell."""
    write(
        user=user if user is not None and user.is_authenticated else None,
        username=user.get_username() if user is not None else SHELL,
        engine=slug,
        action=action,
        target=slug,
        command=command,
        succeeded=True,
        message=message,
    )
