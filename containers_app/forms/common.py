"""What the forms of several resources share: the shapes of names, line and key=value
parsing, and the choice of the team a new object is for."""

import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from containers_app import access

# A full or short container id, or a name as the engine allows it.
CONTAINER_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


# A full object id: 64 hex digits.
FULL_ID = re.compile(r"^[0-9a-f]{64}$")
# Network and volume names as the engine accepts them.
OBJECT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def parse_pairs(text: str, *, what: str) -> dict[str, str]:
    """`key=value` pairs, one a line, as --label and --opt take them; a bare key has ""."""
    pairs: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        key, _, value = line.partition("=")
        key = key.strip()
        if not key or any(c.isspace() for c in key):
            raise ValidationError(f"Line {number}: write each {what} as key=value.")
        pairs[key] = value.strip()
    return pairs


def parse_labels(text: str) -> dict[str, str]:
    """--label pairs, without the labels only Berth and Docker Compose set (berth.*,
    com.docker.compose.*: who owns the object)."""
    labels = parse_pairs(text, what="label")
    if reserved := access.reserved_labels(labels):
        raise ValidationError(
            f"Labels {access.RESERVED_LABELS_SAID} are set by Berth and Docker Compose only: "
            + ", ".join(reserved)
            + "."
        )
    return labels


# The team choice of a superuser who creates an object for no team (seen by superusers only).
NO_TEAM = ""


class TeamField(forms.ChoiceField):
    """A choice of team that, when only one is offered, takes it if none is sent."""

    def __init__(self, *args, default: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.default = default

    def clean(self, value):
        if value in self.empty_values and self.default is not None:
            value = self.default
        return super().clean(value)


def add_team_field(
    form: forms.Form,
    teams: list[str],
    *,
    no_team: bool = False,
    no_team_label: str = "no team (superusers only)",
    help_text: str = f"It gets the label {access.TEAM_LABEL}=<team>",
    required: str = "Choose the team it is for.",
    none_offered: str = "You are not an admin of any team, so you may not create this.",
) -> None:
    """Adds the choice of the team a new object is made for (it gets the label
    berth.team=<slug>): `teams`, those the user may create for; `no_team`, whether they may
    make it for no team (superusers). With one choice it is chosen already."""
    choices = [(slug, slug) for slug in teams]
    if no_team:
        choices.append((NO_TEAM, no_team_label))
    only = choices[0][0] if len(choices) == 1 else None
    form.fields["team"] = TeamField(
        label="Team",
        choices=choices,
        required=not no_team,
        default=only,
        initial=only,
        help_text=help_text,
        error_messages={
            "required": required if choices else none_offered,
            "invalid_choice": "Choose one of your teams.",
        },
    )


def chosen_team(form: forms.Form) -> dict[str, str]:
    """The ownership label of a valid form with a team field, set even for no team (empty):
    an image's own `LABEL berth.team=…` would otherwise pass on to the container and claim it."""
    return {access.TEAM_LABEL: form.cleaned_data.get("team", NO_TEAM) or ""}


def creation_arguments(form: forms.Form) -> dict:
    """The keyword arguments of the engine's (and cli's) create call from a valid create form
    with a team field: its fields but the team, whose label comes first among the labels."""
    arguments = {name: value for name, value in form.cleaned_data.items() if name != "team"}
    arguments["labels"] = chosen_team(form) | arguments.get("labels", {})
    return arguments


class ForceForm(forms.Form):
    """The `-f` of `docker volume rm`."""

    force = forms.BooleanField(required=False)


# An image reference as `docker tag` takes it: [registry[:port]/]path[:tag], lower-case path
# components (the engine refuses upper case there), no digest.
# A first part is a registry only if it has a dot or a port, or is localhost (docker's rule):
# `UPPER/name` is a repository, and a repository is lower case.
IMAGE_REFERENCE = re.compile(
    r"^(?:(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::[0-9]+)?|[A-Za-z0-9-]+:[0-9]+|localhost)/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$"
)


SIZE = re.compile(r"^(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[bkmg]?)b?$", re.I)
SIZE_FACTORS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
# The engine refuses a memory limit below 6 MiB.
MIN_MEMORY = 6 * 1024**2


def _lines(text: str) -> list[tuple[int, str]]:
    """(line number, text) of each line that holds something."""
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def parse_env(text: str, *, where: str = "Line") -> list[tuple[str, str]]:
    """NAME=value a line, as `docker run --env-file` reads them: blank lines and lines starting
    with # are skipped, the space before a name is dropped, the value is kept as it is."""
    pairs = []
    for number, line in enumerate(text.removeprefix("\ufeff").splitlines(), 1):
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        name, equals, value = line.partition("=")
        if not name or any(c.isspace() for c in name):
            raise ValidationError(
                f"{where} {number}: a variable's name is neither empty nor holds spaces: "
                "write NAME=value."
            )
        if not equals:
            # docker would take the value from the environment of the shell it runs in,
            # which a web page does not have.
            raise ValidationError(f"{where} {number}: {name} has no value: write {name}=value.")
        pairs.append((name, value))
    return pairs


def parse_size(text: str, *, what: str) -> int:
    """Bytes of a size as docker takes it: 512m, 1g, 1.5g, 65536."""
    found = SIZE.match(text.strip())
    if not found:
        raise ValidationError(f"Write the {what} as a number with b, k, m or g, e.g. 512m.")
    return int(Decimal(found["number"]) * SIZE_FACTORS[found["unit"].lower()])


# A team's slug is the value of its objects' label berth.team=<slug>: Django's slug rule in
# lower case only, so `Dev` and `dev` can never be two teams, or one team under two labels.
TEAM_SLUG = re.compile(r"^[a-z0-9_-]+\Z")
TEAM_SLUG_LENGTH = 63


def validate_team_slug(slug: str) -> None:
    if not TEAM_SLUG.match(slug):
        raise ValidationError(
            f"{slug[:80]!r} is not a team slug: use lower-case letters, digits, hyphens and "
            "underscores only."
        )


# A compose project's name as compose itself allows it (lower case, digits, - and _).
COMPOSE_PROJECT = re.compile(r"^[a-z0-9][a-z0-9_-]*\Z")
