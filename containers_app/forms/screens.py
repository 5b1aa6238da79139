"""Wall screens (`manage.py screens create`)."""

from django import forms
from django.core.exceptions import ValidationError

from containers_app.engine import Engine
from containers_app.forms.common import COMPOSE_PROJECT, NO_TEAM, add_team_field

# A wall screen made for every container on the host (no team): superusers only.
EVERY_TEAM = NO_TEAM


class ScreenForm(forms.Form):
    """A new wall screen (`python manage.py screens create`): its name, the team whose
    containers it shows (superusers: or every container on the host), only one compose
    project's if given, the engines it shows, and whether it may show log lines. `teams`:
    the slugs the author may make screens for; `every_team`: whether they may make one for
    the whole host; `engines`: those the author may use, the default one first."""

    name = forms.CharField(max_length=150, strip=True, help_text="what the wall is called")
    project = forms.CharField(
        label="Compose project",
        required=False,
        max_length=255,
        strip=True,
        help_text="only this project's containers; empty: all of the team's",
    )
    show_logs = forms.BooleanField(
        label="May show log lines", required=False, help_text="off: states and stats only"
    )

    def __init__(
        self, *args, teams: list[str], engines: list[Engine], every_team: bool = False, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.offered = {engine.slug: engine for engine in engines}
        self.fields["engines"] = forms.MultipleChoiceField(
            label="Engines",
            choices=[(engine.slug, engine.title) for engine in engines],
            initial=[engines[0].slug] if engines else [],
            widget=forms.CheckboxSelectMultiple,
            help_text="it shows their containers side by side; each must be granted to the team",
            error_messages={
                "required": "Choose at least one engine.",
                "invalid_choice": "%(value)s is not an engine you may use.",
            },
        )
        add_team_field(
            self,
            teams,
            no_team=every_team,
            no_team_label="every container on the host (superusers only)",
            help_text="the screen shows this team's containers",
            required="Choose the team whose containers it shows.",
            none_offered="You are not an admin of any team, so you may not make a screen.",
        )
        self.order_fields(["name", "team", "engines", "project", "show_logs"])

    def clean_name(self) -> str:
        # `screens list` prints a screen a line, its fields split by tabs.
        name = self.cleaned_data["name"]
        if any(ord(c) < 32 or ord(c) == 127 for c in name):
            raise ValidationError("Write the name on one line, without tabs or control characters.")
        return name

    def clean_project(self) -> str:
        project = self.cleaned_data["project"]
        if project and not COMPOSE_PROJECT.match(project):
            raise ValidationError(
                "A compose project's name holds lower-case letters, digits, - and _ only, and "
                "starts with a letter or digit."
            )
        return project

    def clean(self) -> dict:
        data = super().clean()
        team = data.get("team")
        for slug in data.get("engines", []):
            if team and team != EVERY_TEAM and not self.offered[slug].granted(team):
                self.add_error(
                    "engines",
                    f"Team {team} may not use engine {slug}: a superuser grants it on the "
                    "Engines page.",
                )
        return data
