"""The engine itself: `docker version`, `docker info` and `docker system df`."""

from dataclasses import dataclass

import docker

from containers_app.engine.client import Engine, api
from containers_app.engine.errors import translated
from containers_app.engine.raw import RawStream, open_stream


@dataclass(frozen=True)
class DiskUsageRow:
    """One line of `docker system df`."""

    kind: str
    total: int
    active: int
    size: int
    reclaimable: int


@dataclass(frozen=True)
class SystemInfo:
    client_version: str
    client_api_version: str
    version: dict
    info: dict
    disk_usage: tuple[DiskUsageRow, ...]


def _disk_usage(df: dict) -> tuple[DiskUsageRow, ...]:
    images = df.get("Images") or []
    containers = df.get("Containers") or []
    volumes = df.get("Volumes") or []
    cache = df.get("BuildCache") or []
    image_size = sum(i.get("Size") or 0 for i in images)
    used_images = [i for i in images if (i.get("Containers") or 0) > 0]
    # What `docker system df` counts as reclaimable: images no container uses, stopped
    # containers' layers, unused volumes, unused build cache.
    shared = sum(i.get("SharedSize") or 0 for i in used_images if (i.get("SharedSize") or 0) > 0)
    used_image_size = sum((i.get("Size") or 0) for i in used_images) - shared
    volume_usage = [(v.get("UsageData") or {}) for v in volumes]
    return (
        DiskUsageRow(
            "Images",
            len(images),
            len(used_images),
            int(df.get("LayersSize") or image_size),
            max(int(df.get("LayersSize") or image_size) - used_image_size, 0),
        ),
        DiskUsageRow(
            "Containers",
            len(containers),
            sum(1 for c in containers if c.get("State") == "running"),
            sum(c.get("SizeRw") or 0 for c in containers),
            sum(c.get("SizeRw") or 0 for c in containers if c.get("State") != "running"),
        ),
        DiskUsageRow(
            "Local Volumes",
            len(volumes),
            sum(1 for u in volume_usage if (u.get("RefCount") or 0) > 0),
            sum(max(u.get("Size") or 0, 0) for u in volume_usage),
            sum(max(u.get("Size") or 0, 0) for u in volume_usage if not u.get("RefCount")),
        ),
        DiskUsageRow(
            "Build Cache",
            len(cache),
            sum(1 for c in cache if c.get("InUse")),
            sum(c.get("Size") or 0 for c in cache),
            sum(c.get("Size") or 0 for c in cache if not c.get("InUse") and not c.get("Shared")),
        ),
    )


def system_info(*, engine: Engine) -> SystemInfo:
    """`docker version`, `docker info` and `docker system df` of one engine."""
    client = api(engine)
    with translated(engine.base_url):
        version, info, df = client.version(), client.info(), client.df()
    return SystemInfo(
        client_version=docker.__version__,
        client_api_version=client.api_version,
        version=version,
        info=info,
        disk_usage=_disk_usage(df),
    )


def system_events(*, engine: Engine, since_nano: int) -> RawStream:
    """`docker events --since <time>`, one JSON event a line, followed until closed; the
    engine sends those since `since_nano` (Unix nanoseconds) first."""
    seconds, nanos = divmod(since_nano, 1_000_000_000)
    return open_stream(engine, "/events", {"since": f"{seconds}.{nanos:09d}"})
