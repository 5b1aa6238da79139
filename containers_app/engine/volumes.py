"""Volumes: `docker volume ls`, `create`, `inspect` and `rm`."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from containers_app.engine.client import Engine, api
from containers_app.engine.convert import from_rfc3339, labels_of, pretty_json
from containers_app.engine.errors import translated


@dataclass(frozen=True)
class Volume:
    name: str
    driver: str
    mountpoint: str
    scope: str
    created: datetime | None
    labels: dict[str, str] = field(hash=False)
    options: dict[str, str] = field(hash=False, default_factory=dict)
    containers: tuple[str, ...] = ()
    raw_json: str = ""

    @property
    def anonymous(self) -> bool:
        """Made by the engine for a container, with a 64-hex-digit name."""
        return len(self.name) == 64 and all(c in "0123456789abcdef" for c in self.name)


def _users_by_volume(engine: Engine) -> dict[str, list[str]]:
    """Container names per volume name, from one `docker ps -a` call."""
    with translated(engine.base_url):
        rows = api(engine).containers(all=True)
    users: dict[str, list[str]] = {}
    for row in rows:
        name = (row.get("Names") or ["/?"])[0].lstrip("/")
        for mount in row.get("Mounts") or ():
            if mount.get("Type") == "volume" and mount.get("Name"):
                users.setdefault(mount["Name"], []).append(name)
    return users


def _volume(data: dict, users: Mapping[str, list[str]]) -> Volume:
    return Volume(
        name=data["Name"],
        driver=data.get("Driver", ""),
        mountpoint=data.get("Mountpoint", ""),
        scope=data.get("Scope", ""),
        created=from_rfc3339(data.get("CreatedAt")),
        labels=labels_of(data.get("Labels")),
        options=labels_of(data.get("Options")),
        containers=tuple(sorted(users.get(data["Name"], ()))),
        raw_json=pretty_json(data),
    )


def volume_list(*, engine: Engine) -> list[Volume]:
    """`docker volume ls` in one call, with the containers mounting each from one `docker ps -a`."""
    with translated(engine.base_url):
        rows = (api(engine).volumes() or {}).get("Volumes") or []
    users = _users_by_volume(engine)
    return sorted((_volume(row, users) for row in rows), key=lambda v: (v.anonymous, v.name))


def volume_inspect(*, engine: Engine, name: str) -> Volume:
    """`docker volume inspect`."""
    with translated(engine.base_url):
        data = api(engine).inspect_volume(name)
    return _volume(data, _users_by_volume(engine))


def volume_create(
    *,
    engine: Engine,
    name: str = "",
    driver: str = "local",
    labels: Mapping[str, str] | None = None,
    options: Mapping[str, str] | None = None,
) -> str:
    """`docker volume create`; returns the volume's name (the engine picks one if not given)."""
    with translated(engine.base_url):
        data = api(engine).create_volume(
            name=name or None,
            driver=driver,
            driver_opts=dict(options or {}),
            labels=dict(labels or {}),
        )
    return data["Name"]


def volume_remove(*, engine: Engine, name: str, force: bool = False) -> None:
    """`docker volume rm [-f]`."""
    with translated(engine.base_url):
        api(engine).remove_volume(name, force=force)
