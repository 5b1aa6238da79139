"""What a containers or images list row (and an audit page row) shows, worked out once per
row in Python: shared by the list views and by the live pages that push redrawn rows."""

from collections.abc import Iterable
from datetime import datetime
from typing import TypedDict

from django.utils import timezone
from django.utils.timesince import timesince

from containers_app import access
from containers_app.audit import result_of
from containers_app.engine.containers import ContainerSummary
from containers_app.engine.images import ImageSummary
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
    # Which buttons the row has, by the viewer's role in the container's team (access.py):
    # start, stop and the like; remove.
    operate: bool
    administer: bool


def container_rows(
    containers: Iterable[ContainerSummary], actor: access.Actor | None = None
) -> list[ContainerRow]:
    """The rows of a list, all "N minutes ago" from the same moment, with the buttons
    `actor` may use on each (none without an actor)."""
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
        target = access.Target(access.CONTAINER, c.labels)
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
                operate=actor is not None and access.allowed(actor, access.OPERATE, target),
                administer=(actor is not None and access.allowed(actor, access.ADMINISTER, target)),
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
    object_id: str  # the full id beside the name, shown short
    short_object_id: str
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
                object_id=entry.object_id,
                short_object_id=entry.object_id.removeprefix("sha256:")[:12],
                command=entry.command,
                result=result_of(entry),
                message=entry.message,
            )
        )
    return rows


class ImageRow(TypedDict):
    """What images/_rows.html shows of an image to one actor: ImageSummary's fields, with
    only the names of the containers the actor may see among those using it."""

    id: str
    short_id: str
    tags: tuple[str, ...]
    created: datetime | None
    size: int
    containers: tuple[str, ...]  # those the actor may see, by name
    others: int  # how many more use it: containers of teams the actor does not see
    removable: bool  # whether the actor may remove it (access.ADMINISTER)


def image_rows(
    images: Iterable[ImageSummary],
    *,
    actor: access.Actor,
    containers: Iterable[ContainerSummary],
) -> list[ImageRow]:
    """The images list as `actor` sees it: every image (images are the host's), each with
    the containers using it (`containers`: every container, `docker ps -a`) that `actor` may
    see, and whether `actor` may remove it: not while a container of a team they are no
    admin of uses it. A child image's containers are counted only when its parent is
    removed (views/objects.image_target); the engine refuses that removal anyway."""
    users: dict[str, list[ContainerSummary]] = {}
    for c in containers:
        users.setdefault(c.image_id, []).append(c)
    rows = []
    for image in images:
        using = users.get(image.id, [])
        seen = tuple(sorted(c.name for c in access.visible(actor, access.CONTAINER, using)))
        owners = frozenset(
            access.owner(actor, access.Target(access.CONTAINER, c.labels)) or "" for c in using
        )
        target = access.Target(access.IMAGE, image.labels, used_by=owners)
        rows.append(
            ImageRow(
                id=image.id,
                short_id=image.short_id,
                tags=image.tags,
                created=image.created,
                size=image.size,
                containers=seen,
                others=len(using) - len(seen),
                removable=access.allowed(actor, access.ADMINISTER, target),
            )
        )
    return rows
