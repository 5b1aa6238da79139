"""Container logs: the options of `docker logs` and the times --since and --until take."""

import re
import time
from datetime import UTC, datetime

from django import forms
from django.core.exceptions import ValidationError

DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d)$")
DURATION_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def log_time(text: str, *, now: float) -> str:
    """A time as `docker logs --since/--until` takes it (RFC 3339, Unix seconds, or a
    duration ago like 10m), as the Unix seconds the engine takes; "" for none."""
    text = text.strip()
    if not text:
        return ""
    if match := DURATION.match(text):
        return f"{now - float(match[1]) * DURATION_SECONDS[match[2]]:.9f}"
    if re.match(r"^\d+(\.\d+)?$", text):
        return text
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise ValidationError(
            "Write a time as 2026-01-02T13:23:37Z, as Unix seconds, or as a duration like 10m."
        ) from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"{moment.timestamp():.9f}"


class LogsForm(forms.Form):
    """The options of `docker logs`: --tail, --since, --until, --follow."""

    tail = forms.CharField(required=False, max_length=10)
    since = forms.CharField(required=False, max_length=64)
    until = forms.CharField(required=False, max_length=64)
    follow = forms.BooleanField(required=False)

    def clean_tail(self) -> int | None:
        tail = self.cleaned_data["tail"].strip() or "500"
        if tail == "all":
            return None
        if not tail.isdigit() or int(tail) > 1_000_000:
            raise ValidationError("Tail is a number of lines up to 1000000, or all.")
        return int(tail)

    def clean_since(self) -> str | None:
        return log_time(self.cleaned_data["since"], now=time.time()) or None

    def clean_until(self) -> str | None:
        return log_time(self.cleaned_data["until"], now=time.time()) or None
