"""Records each change made through Berth."""

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
