"""The audit log: its page's filters and the times they take."""

from datetime import date, datetime, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from containers_app import audit
from containers_app.forms.common import TEAM_SLUG_LENGTH, validate_team_slug

TIME_HELP = "Write a time as 2024-05-01 or 2024-05-01T13:45, with a UTC offset if you like."
# Past these a time cannot be turned into UTC and back everywhere: no audit entry is older.
FIRST_YEAR, LAST_YEAR = 1900, 9998
MAX_ENTRY_ID = 2**63 - 1


def parse_time(text: str, *, end_of_day: bool = False) -> datetime:
    """An ISO 8601 date-time or date (its first moment, or its last with `end_of_day`), in
    the current time zone unless it names its own offset."""
    text = text.strip()
    try:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            value = datetime.fromisoformat(text)
        else:
            value = datetime(day.year, day.month, day.day)
            if end_of_day:
                value += timedelta(days=1, microseconds=-1)
    except (ValueError, OverflowError):
        raise ValidationError(TIME_HELP) from None
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValidationError(f"Write a time between the years {FIRST_YEAR} and {LAST_YEAR}.")
    return timezone.make_aware(value) if timezone.is_naive(value) else value


class AuditFilterForm(forms.Form):
    """The audit page's filters (its query string), also read by its CSV export and its
    live feed. `filters()` is what audit.matching takes."""

    user = forms.CharField(required=False, max_length=150, strip=True)
    team = forms.CharField(
        required=False,
        max_length=TEAM_SLUG_LENGTH,
        strip=True,
        validators=[validate_team_slug],
    )
    engine = forms.SlugField(required=False, max_length=63, strip=True)
    action = forms.CharField(required=False, max_length=64, strip=True)
    object = forms.CharField(required=False, max_length=255, strip=True)
    since = forms.CharField(required=False, max_length=64, strip=True)
    until = forms.CharField(required=False, max_length=64, strip=True)
    result = forms.ChoiceField(
        required=False,
        choices=[
            ("", "any result"),
            (audit.OK, "succeeded"),
            (audit.FAILED, "failed"),
            (audit.DENIED, "denied"),
        ],
    )
    q = forms.CharField(required=False, max_length=200, strip=True)
    page = forms.IntegerField(required=False, min_value=1, max_value=10**6)
    # Only entries with a greater id: where the live feed catches up from.
    after = forms.IntegerField(required=False, min_value=0, max_value=MAX_ENTRY_ID)

    def clean_since(self) -> datetime | None:
        text = self.cleaned_data["since"]
        return parse_time(text) if text else None

    def clean_until(self) -> datetime | None:
        text = self.cleaned_data["until"]
        return parse_time(text, end_of_day=True) if text else None

    def clean(self) -> dict:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise ValidationError("The start of the time range is after its end.")
        return data

    def filters(self) -> dict:
        """The filters given, by name, as audit.matching takes them (no page)."""
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name != "page" and value not in (None, "")
        }
