"""What a containers list row (and an audit page row) shows, worked out once per row in
Python: shared by the list views and by the live pages that push redrawn rows."""

from collections.abc import Iterable
from datetime import datetime
from typing import TypedDict

from django.utils import timezone
from django.utils.timesince import timesince

from containers_app.audit import result_of
from containers_app.engine.containers import ContainerSummary
from containers_app.models import AuditEntry


class ContainerRow(TypedDict):
    """What containers/_row.html shows of a container, as the strings it prints.

    Worked out here, not with filters in the template, because lists draw that partial with
    `include_rows` (templatetags/rows.py), which takes a dict whose values print as they are."""

    id: str
    short_id: str
    name: str
    image: str
    command: str
    created_iso: str  # what `|date:"c"` prints, in the current time zone
    created_ago: str  # what `|timesince` prints: "3 minutes", "1 day, 2 hours"
    state: str
    status: str
    ports: str  # joined as `docker ps` prints them


def container_rows(
    containers: Iterable[ContainerSummary],
) -> list[ContainerRow]:
    """The rows of a list, all "N minutes ago" from the same moment."""
    now = timezone.now()
    # Containers made together share their second of creation, so each is worked out once.
    created: dict[datetime | None, tuple[str, str]] = {None: ("", "")}
    rows = []
    for c in containers:
        if c.created not in created:
            created[c.created] = (
                timezone.localtime(c.created).isoformat(),
                timesince(c.created, now),
            )
        created_iso, created_ago = created[c.created]
        rows.append(
            ContainerRow(
                id=c.id,
                short_id=c.short_id,
                name=c.name,
                image=c.image,
                command=c.command,
                created_iso=created_iso,
                created_ago=created_ago,
                state=c.state,
                status=c.status,
                ports=", ".join(c.ports),
            )
        )
    return rows


class AuditRow(TypedDict):
    """What audit/_rows.html shows of an audit entry, shared by the audit page and its
    live feed (consumers/audit.py)."""

    id: int
    created_iso: str  # in the current time zone, with its offset
    created: str  # "2024-05-01 13:45:02", in the current time zone
    username: str
    team: str
    engine: str
    action: str
    target: str
    command: str
    result: str  # succeeded, failed or denied
    message: str


def audit_rows(entries: Iterable[AuditEntry]) -> list[AuditRow]:
    rows = []
    for entry in entries:
        created = timezone.localtime(entry.created)
        rows.append(
            AuditRow(
                id=entry.pk,
                created_iso=created.isoformat(),
                created=created.strftime("%Y-%m-%d %H:%M:%S"),
                username=entry.username,
                team=entry.team,
                engine=entry.engine,
                action=entry.action,
                target=entry.target,
                command=entry.command,
                result=result_of(entry),
                message=entry.message,
            )
        )
    return rows
