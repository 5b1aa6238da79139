"""Compose applications: a new one, an edit of its files, and `down`."""

from django import forms
from django.core.exceptions import ValidationError

from containers_app.compose_files import MAX_ENV_BYTES, MAX_YAML_BYTES
from containers_app.engine import Engine
from containers_app.forms.common import COMPOSE_PROJECT, add_team_field
from containers_app.models import Team

COMPOSE_HELP = "the compose file, as `docker compose -f` reads it"
ENV_HELP = "KEY=value lines: interpolated into the YAML, and env_file: .env reads them"


class _Files(forms.Form):
    compose = forms.CharField(
        label="compose.yaml",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false"}),
        help_text=COMPOSE_HELP,
    )
    env = forms.CharField(
        label=".env",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false"}),
        help_text=ENV_HELP,
    )

    def clean_compose(self) -> str:
        text = self.cleaned_data["compose"].replace("\r\n", "\n")
        if len(text.encode()) > MAX_YAML_BYTES:
            raise ValidationError(f"The compose file is larger than {MAX_YAML_BYTES // 1024} KiB.")
        return text

    def clean_env(self) -> str:
        text = self.cleaned_data["env"].replace("\r\n", "\n")
        if len(text.encode()) > MAX_ENV_BYTES:
            raise ValidationError(f"The .env text is larger than {MAX_ENV_BYTES // 1024} KiB.")
        return text


class ApplicationEditForm(_Files):
    """An application's new YAML and .env, which its next deploy takes."""


class ApplicationForm(_Files):
    """A new application: its compose project name (free on its engine), its team, its
    engine (of those the user may use, granted to the team), its files. `teams`: the slugs
    the user may make one for; `no_team`: whether they may make one for no team."""

    name = forms.CharField(
        max_length=63,
        strip=True,
        help_text="its compose project name (docker compose -p): lower-case letters, digits, "
        "- and _",
    )

    def __init__(
        self, *args, teams: list[str], engines: list[Engine], no_team: bool = False, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.offered = {engine.slug: engine for engine in engines}
        self.fields["engine"] = forms.ChoiceField(
            label="Engine",
            choices=[(engine.slug, engine.title) for engine in engines],
            initial=engines[0].slug if engines else None,
            help_text="where it runs; it must be granted to the team",
            error_messages={"invalid_choice": "%(value)s is not an engine you may use."},
        )
        add_team_field(
            self,
            teams,
            no_team=no_team,
            help_text="its containers, networks and volumes are the team's",
            none_offered="You are not an admin of any team, so you may not deploy an application.",
        )
        self.order_fields(["name", "team", "engine", "compose", "env"])

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if not COMPOSE_PROJECT.match(name):
            raise ValidationError(
                "A compose project's name holds lower-case letters, digits, - and _ only, and "
                "starts with a letter or digit."
            )
        return name

    def clean(self) -> dict:
        data = super().clean()
        team, slug = data.get("team"), data.get("engine")
        if team and slug and not self.offered[slug].granted(team):
            self.add_error(
                "engine",
                f"Team {team} may not use engine {slug}: a superuser grants it on the Engines "
                "page.",
            )
        return data

    @property
    def engine(self) -> Engine:
        return self.offered[self.cleaned_data["engine"]]


class ApplicationDownForm(forms.Form):
    """`docker compose down`, with --volumes if asked (its named volumes' data is lost)."""

    volumes = forms.BooleanField(required=False, label="Remove its named volumes too")


class ApplicationAdoptForm(forms.Form):
    """A found compose project taken in as an application (superusers): the team it is
    handed to (empty: none), and its files, pasted or imported from the folder its labels
    name (the local engine only)."""

    team = forms.SlugField(required=False, max_length=63, help_text="empty: no team")
    compose = forms.CharField(
        label="compose.yaml", required=False, strip=False, widget=forms.Textarea
    )
    env = forms.CharField(label=".env", required=False, strip=False, widget=forms.Textarea)
    import_files = forms.BooleanField(
        required=False,
        label="Import its files from the folder its labels name (the local engine only)",
    )

    def clean_team(self):
        slug = self.cleaned_data["team"]
        if slug and not Team.objects.filter(slug=slug).exists():
            raise ValidationError(f"There is no team {slug}.")
        return slug

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("import_files") and not (data.get("compose") or "").strip():
            raise ValidationError("Paste its compose file, or import its files.")
        for field, cap in (("compose", MAX_YAML_BYTES), ("env", MAX_ENV_BYTES)):
            if len((data.get(field) or "").encode()) > cap:
                self.add_error(field, f"It is larger than {cap // 1024} KiB.")
        return data

    @property
    def team_row(self) -> Team | None:
        slug = self.cleaned_data.get("team")
        return Team.objects.filter(slug=slug).first() if slug else None
