"""`python manage.py screens create|list|rotate|revoke`: wall screens from a shell or a
provisioning script, through the same form, rules and audit trail as the Screens page. A
screen's link is printed once, when it is made or replaced: Berth keeps only its hash."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from containers_app import engines, screens
from containers_app.forms import EVERY_TEAM, ScreenForm
from containers_app.management.commands.teams import form_errors
from containers_app.models import Screen, Team


class Command(BaseCommand):
    help = (
        "Make wall screens (read-only, opened by a secret link), replace their links, revoke them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="subcommand", required=True, metavar="COMMAND")
        create = commands.add_parser("create", help="make a screen and print its link")
        create.add_argument("name")
        scope = create.add_mutually_exclusive_group(required=True)
        scope.add_argument("--team", help="the team whose containers it shows (its slug)")
        scope.add_argument(
            "--every-team", action="store_true", help="every container on the host, any team's"
        )
        create.add_argument("--project", default="", help="only this compose project's")
        create.add_argument(
            "--engine",
            action="append",
            dest="engines",
            metavar="SLUG",
            help="an engine whose containers it shows (repeat for several; without it, the "
            "default engine)",
        )
        create.add_argument("--logs", action="store_true", help="it may show log lines")
        self._base_url(create)
        commands.add_parser("list", help="every screen, a line each")
        rotate = commands.add_parser(
            "rotate", help="give a screen a new link (the old one and open walls stop)"
        )
        rotate.add_argument("screen", help="its id or name")
        self._base_url(rotate)
        revoke = commands.add_parser("revoke", help="revoke a screen (its open walls close)")
        revoke.add_argument("screen", help="its id or name")

    @staticmethod
    def _base_url(parser: CommandParser) -> None:
        parser.add_argument(
            "--base-url",
            default="",
            help="Berth's address as the wall's browser reaches it, such as "
            "https://berth.example.org (without it, only the link's path is printed)",
        )

    def handle(self, *args, subcommand: str, **options) -> None:
        if subcommand == "create":
            self.create(options)
        elif subcommand == "rotate":
            self.rotate(options["screen"], options["base_url"])
        elif subcommand == "revoke":
            self.revoke(options["screen"])
        else:
            self.list()

    def create(self, options: dict) -> None:
        team_slug = EVERY_TEAM if options["every_team"] else options["team"]
        data = {
            "name": options["name"],
            "team": team_slug,
            "project": options["project"],
            "show_logs": options["logs"],
            "engines": options["engines"] or [settings.BERTH_DEFAULT_ENGINE],
        }
        teams = list(Team.objects.values_list("slug", flat=True))
        form = ScreenForm(data, teams=teams, every_team=True, engines=engines.listed())
        if not form.is_valid():
            if "team" in form.errors and team_slug:
                raise CommandError(
                    f"There is no team {team_slug}; `python manage.py teams list` shows them."
                )
            raise CommandError(form_errors(form))
        team = Team.objects.get(slug=team_slug) if team_slug else None
        try:
            screen, token = screens.screen_create(
                by=None,
                name=form.cleaned_data["name"],
                team=team,
                on=form.cleaned_data["engines"],
                project=form.cleaned_data["project"],
                show_logs=form.cleaned_data["show_logs"],
            )
        except engines.NoSuchEngine as gone:  # removed meanwhile: nothing made
            raise CommandError(f"There is no engine {gone} any more.") from None
        self.stdout.write(f"Made screen {screen.pk} {screen.name} ({screens.describe(screen)}).")
        self.print_link(token, options["base_url"])

    def rotate(self, ref: str, base_url: str) -> None:
        screen = self.screen(ref)
        try:
            token = screens.screen_rotate(by=None, screen=screen)
        except screens.ScreenRevoked as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Screen {screen.pk} {screen.name} has a new link; the old one is void.")
        self.print_link(token, base_url)

    def revoke(self, ref: str) -> None:
        screen = self.screen(ref)
        if screens.screen_revoke(by=None, screen=screen):
            self.stdout.write(f"Revoked screen {screen.pk} {screen.name}; its open walls close.")
        else:
            self.stdout.write(f"Screen {screen.pk} {screen.name} was revoked already.")

    def list(self) -> None:
        for screen in (
            Screen.objects.select_related("team").prefetch_related("engines").order_by("pk")
        ):
            state = f"revoked {screen.revoked:%Y-%m-%d %H:%M}" if screen.revoked else "active"
            team = screens.team_of(screen) or "(every team)"
            project = screen.project or "(all)"
            on = ",".join(screens.engine_slugs(screen)) or "(no engine)"
            logs = "logs" if screen.show_logs else "no logs"
            self.stdout.write(
                f"{screen.pk}\t{screen.name}\t{team}\t{project}\t{on}\t{logs}\t{state}"
            )

    def print_link(self, token: str, base_url: str) -> None:
        path = reverse("screens:open", args=[token])
        self.stdout.write(
            f"Link (shown only now; Berth keeps only its hash): {base_url.rstrip('/')}{path}"
        )
        if not base_url:
            self.stderr.write("Put Berth's address in front of it, or pass --base-url next time.")

    def screen(self, ref: str) -> Screen:
        """A screen by its id, or by its name if no other screen has it (active ones first)."""
        found = Screen.objects.select_related("team")
        if ref.isdigit() and (screen := found.filter(pk=int(ref)).first()):
            return screen
        named = list(found.filter(name=ref, revoked__isnull=True)) or list(found.filter(name=ref))
        if not named:
            raise CommandError(
                f"There is no screen {ref}; `python manage.py screens list` shows them."
            )
        if len(named) > 1:
            ids = ", ".join(str(s.pk) for s in named)
            raise CommandError(f"Several screens are called {ref} ({ids}): name one by its id.")
        return named[0]
