"""Teams (`manage.py teams`): a new team, its members, its compose projects and its policy."""

import re
from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from containers_app import engines
from containers_app.engine.specs import format_cpus, format_size
from containers_app.forms.common import (
    COMPOSE_PROJECT,
    MIN_MEMORY,
    TEAM_SLUG_LENGTH,
    _lines,
    parse_size,
    validate_team_slug,
)
from containers_app.models import Membership


class ProjectAssignForm(forms.Form):
    """A compose project to hand to a team (`python manage.py teams assign`)."""

    project = forms.CharField(
        label="Compose project",
        max_length=255,
        strip=True,
        help_text="its containers, networks and volumes (label com.docker.compose.project)",
    )
    engine = forms.SlugField(
        required=False,
        max_length=63,
        help_text="the engine the project runs on (the default engine if blank)",
    )

    def clean_engine(self):
        """The engine (engines.Engine) the project is on."""
        slug = self.cleaned_data["engine"]
        try:
            return engines.get(slug) if slug else engines.default()
        except engines.NoSuchEngine:
            raise ValidationError(f"No engine {slug}.") from None

    def clean_project(self) -> str:
        project = self.cleaned_data["project"]
        if not COMPOSE_PROJECT.match(project):
            raise ValidationError(
                "A compose project's name holds lower-case letters, digits, - and _ only, and "
                "starts with a letter or digit."
            )
        return project


class TeamCreateForm(forms.Form):
    """A new team (`python manage.py teams create`); its name is its slug unless given."""

    slug = forms.CharField(
        max_length=TEAM_SLUG_LENGTH,
        validators=[validate_team_slug],
        help_text="lower case; its objects carry the label berth.team=<slug>",
    )
    name = forms.CharField(required=False, max_length=150)

    def clean_name(self) -> str:
        # `teams list` prints a team a line, its fields split by tabs.
        name = self.cleaned_data["name"]
        if any(ord(c) < 32 or ord(c) == 127 for c in name):
            raise ValidationError("Write the name on one line, without tabs or control characters.")
        return name

    def clean(self) -> dict:
        data = super().clean()
        if data.get("slug") and not data.get("name"):
            data["name"] = data["slug"]
        return data


class MembershipForm(forms.Form):
    """A user's role in a team (`python manage.py teams add`): adds them, or changes the role
    of someone who is a member already. `cleaned_data["user"]` is the user named."""

    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Membership.ROLES, initial=Membership.VIEWER)

    def clean(self) -> dict:
        data = super().clean()
        username = data.get("username")
        if username:
            users = get_user_model()
            user = users._default_manager.filter(**{users.USERNAME_FIELD: username}).first()
            if user is None:
                self.add_error("username", f"There is no user named {username}.")
            else:
                data["user"] = user
        return data


# An image pattern: what a reference holds, with the shell's wildcards * ? [ ] and [!…].
IMAGE_PATTERN = re.compile(r"^[A-Za-z0-9._/:@*?\[\]!-]{1,255}$")
MAX_IMAGE_PATTERNS = 100


REGISTRY_PATTERN = re.compile(r"^[A-Za-z0-9*?\[\]][A-Za-z0-9.*?\[\]-]*(:[0-9*?\[\]]+)?$")


class TeamPolicyForm(forms.Form):
    """A team's policy (policy.py): what its containers may be run with. A blank field is no
    rule. `settings()` gives the Team fields of a valid form."""

    image_patterns = forms.CharField(
        label="Images",
        required=False,
        max_length=16384,
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "nginx:*\nregistry.example.com/team/*"}
        ),
        help_text="One shell-style pattern a line (* matches any characters, / included); a "
        "reference without a tag is matched as written and with :latest. Empty: any image",
    )
    port_min = forms.IntegerField(
        label="Lowest host port (-p)", required=False, min_value=1, max_value=65535
    )
    port_max = forms.IntegerField(
        label="Highest host port (-p)",
        required=False,
        min_value=1,
        max_value=65535,
        help_text="With a range, every published port names its host port in it",
    )
    memory_max = forms.CharField(
        label="Memory per container (-m)",
        required=False,
        max_length=32,
        help_text="e.g. 512m, 2g; every container then sets -m. Empty: no cap",
    )
    cpus_max = forms.CharField(
        label="CPUs per container (--cpus)",
        required=False,
        max_length=32,
        help_text="e.g. 1.5; every container then sets --cpus. Empty: no cap",
    )
    containers_max = forms.IntegerField(
        label="Containers",
        required=False,
        min_value=0,
        max_value=1_000_000,
        help_text="How many the team may have, in any state. Empty: any number",
    )
    registries = forms.CharField(
        label="Registries",
        required=False,
        max_length=16384,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "registry.example.com:5000"}),
        help_text="Where its pulls, pushes and logins may go: host[:port] patterns, one a line. "
        "Empty: any registry but loopback, link-local and private addresses",
    )
    repositories = forms.CharField(
        label="Repositories it writes",
        required=False,
        max_length=16384,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "registry.example.com/team-a/*"}),
        help_text="The image names its tags, commits, builds and loads may take: patterns, one "
        "a line. Empty: any name no other team's container uses",
    )

    def clean_registries(self) -> str:
        return self._patterns("registries", REGISTRY_PATTERN, "a registry (host[:port])")

    def clean_repositories(self) -> str:
        return self._patterns("repositories", IMAGE_PATTERN, "an image name pattern")

    def clean_image_patterns(self) -> str:
        return self._patterns(
            "image_patterns",
            IMAGE_PATTERN,
            "an image pattern: an image reference (letters, digits, . _ - / : @)",
            "image patterns",
        )

    def _patterns(self, field: str, shape: re.Pattern, what: str, items: str = "lines") -> str:
        """A field of patterns, one a line, each of `shape`: blank and repeated lines dropped."""
        lines = list(dict.fromkeys(line for _, line in _lines(self.cleaned_data[field])))
        bad = [line for line in lines if not shape.match(line)]
        if bad:
            raise ValidationError(f"{bad[0][:80]} is not {what} with * ? or [...], one a line.")
        if len(lines) > MAX_IMAGE_PATTERNS:
            raise ValidationError(f"At most {MAX_IMAGE_PATTERNS} {items}.")
        return "\n".join(lines)

    def clean_memory_max(self) -> int | None:
        text = self.cleaned_data["memory_max"].strip()
        if not text:
            return None
        memory = parse_size(text, what="memory cap")
        if memory < MIN_MEMORY:
            raise ValidationError("The engine takes a memory limit of at least 6m.")
        return memory

    def clean_cpus_max(self) -> float | None:
        text = self.cleaned_data["cpus_max"].strip()
        if not text:
            return None
        try:
            cpus = Decimal(text)
        except ArithmeticError:
            cpus = Decimal(-1)
        if not cpus.is_finite() or cpus <= 0 or cpus > 1024:
            raise ValidationError("Write the CPUs as a number above 0, e.g. 1.5.")
        if cpus != cpus.quantize(Decimal("0.001")):
            raise ValidationError("Write the CPUs with at most three decimals, e.g. 1.5.")
        return float(cpus)

    def clean(self) -> dict:
        data = super().clean()
        low, high = data.get("port_min"), data.get("port_max")
        if low is not None and high is not None and low > high:
            self.add_error("port_max", f"The highest port is at least the lowest ({low}).")
        return data

    def settings(self) -> dict:
        """The Team fields of a valid form."""
        return dict(self.cleaned_data)

    @staticmethod
    def initial_of(team) -> dict:
        """The form's initial values from a team's policy."""
        cpus = team.cpus_max
        return {
            "image_patterns": team.image_patterns,
            "port_min": team.port_min,
            "port_max": team.port_max,
            "memory_max": format_size(team.memory_max) if team.memory_max is not None else "",
            "cpus_max": format_cpus(int(Decimal(str(cpus)) * 1_000_000_000))
            if cpus is not None
            else "",
            "containers_max": team.containers_max,
            "registries": team.registries,
            "repositories": team.repositories,
        }
