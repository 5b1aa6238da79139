"""Small conversions of the Engine API's JSON shared by the resource modules."""

import json
from datetime import UTC, datetime
from typing import Any


def short_id(object_id: str) -> str:
    """The first 12 hex digits, as the docker CLI shows an id."""
    return object_id.removeprefix("sha256:")[:12]


def from_unix(seconds: int | float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, tz=UTC) if seconds else None


def from_rfc3339(text: str | None) -> datetime | None:
    """Engine timestamps carry nanoseconds, which datetime cannot hold; zero means never."""
    if not text or text.startswith("0001-01-01"):
        return None
    head, _, rest = text.partition(".")
    zone = ""
    if rest:
        digits = rest.rstrip("Z").split("+")[0].split("-")[0]
        zone = rest[len(digits) :]
        text = f"{head}.{digits[:6]}{zone}"
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def pretty_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, default=str)


def labels_of(data: dict | None) -> dict[str, str]:
    return dict(sorted((data or {}).items()))
