"""Records each change made through Berth."""

from django.db import IntegrityError, transaction
from django.http import HttpRequest

from containers_app.engine import Engine
from containers_app.models import AuditEntry


def record(
    request: HttpRequest,
    *,
    engine: Engine,
    action: str,
    target: str,
    command: str,
    error: Exception | None = None,
) -> None:
    AuditEntry.objects.create(
        user=request.user if request.user.is_authenticated else None,
        username=request.user.get_username(),
        engine=engine.base_url,
        action=action,
        target=target[:255],
        command=command,
        succeeded=error is None,
        message=getattr(error, "reason", str(error or "")),
    )


def terminal_opened(
    *, user, engine: Engine, container: str, command: str, ticket: str
) -> int | None:
    """Records a terminal being opened; its id, or None if this ticket already opened one."""
    try:
        with transaction.atomic():
            entry = AuditEntry.objects.create(
                user=user,
                username=user.get_username(),
                engine=engine.base_url,
                action="exec",
                target=container[:255],
                command=command,
                succeeded=True,
                ticket=ticket,
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
