"""`python manage.py teams create|add|remove|list|assign|unassign`: teams, their members and
their compose projects from a shell or a provisioning script, through the same forms, rules
and audit trail as the team pages. The shell acts as a superuser would (it may leave a team
without admins, with a warning)."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.forms import Form

from containers_app import access, engines, teams
from containers_app.forms import (
    MembershipForm,
    ProjectAssignForm,
    TeamCreateForm,
    validate_team_slug,
)
from containers_app.models import Team


def form_errors(form: Form) -> str:
    return "; ".join(
        f"{field}: {message}" if field != "__all__" else message
        for field, messages in form.errors.items()
        for message in messages
    )


class Command(BaseCommand):
    help = "Create teams and give users roles in them (viewer, operator, admin)."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="subcommand", required=True, metavar="COMMAND")
        create = commands.add_parser("create", help="create a team")
        create.add_argument("slug", help="lower case; its objects carry berth.team=<slug>")
        create.add_argument("--name", default="", help="a longer name (default: the slug)")
        add = commands.add_parser(
            "add", help="add a user to a team, or change the role of one who is in it"
        )
        add.add_argument("slug")
        add.add_argument("username")
        add.add_argument("--role", required=True, choices=access.ROLES)
        remove = commands.add_parser("remove", help="remove a user from a team")
        remove.add_argument("slug")
        remove.add_argument("username")
        commands.add_parser("list", help="every team, a line each: slug, name, user:role...")
        assign = commands.add_parser(
            "assign",
            help="hand a compose project (its containers, networks, volumes) to a team",
        )
        assign.add_argument("slug")
        assign.add_argument("project")
        assign.add_argument("--engine", default="", help="the engine's slug (default: the default)")
        unassign = commands.add_parser(
            "unassign", help="take a compose project from its team (superusers only then)"
        )
        unassign.add_argument("project")
        unassign.add_argument(
            "--engine", default="", help="the engine's slug (default: the default)"
        )

    def handle(self, *args, subcommand: str, **options) -> None:
        if subcommand == "create":
            self.create(options["slug"], options["name"])
        elif subcommand == "add":
            self.add(options["slug"], options["username"], options["role"])
        elif subcommand == "remove":
            self.remove(options["slug"], options["username"])
        elif subcommand == "assign":
            self.assign(options["slug"], options["project"], self.engine(options["engine"]))
        elif subcommand == "unassign":
            self.unassign(options["project"], self.engine(options["engine"]))
        else:
            self.list()

    @staticmethod
    def engine(slug: str):
        try:
            return engines.get(slug) if slug else engines.default()
        except engines.NoSuchEngine:
            raise CommandError(f"No engine {slug}: see manage.py engines list.") from None

    def assign(self, slug: str, project: str, engine) -> None:
        team = self.team(slug)
        form = ProjectAssignForm({"project": project})
        if not form.is_valid():
            raise CommandError(form_errors(form))
        project = form.cleaned_data["project"]
        was = teams.project_assign(by=None, engine=engine, team=team, project=project)
        self.stdout.write(
            f"Compose project {project} is {slug}'s now" + (f" (was {was}'s)." if was else ".")
        )

    def unassign(self, project: str, engine) -> None:
        slug = teams.project_unassign(by=None, engine=engine, project=project)
        if slug is None:
            raise CommandError(f"Compose project {project} is not assigned to any team.")
        self.stdout.write(f"Compose project {project} is no longer {slug}'s.")

    def create(self, slug: str, name: str) -> None:
        form = TeamCreateForm({"slug": slug, "name": name})
        if not form.is_valid():
            raise CommandError(form_errors(form))
        try:
            team = teams.team_create(by=None, **form.cleaned_data)
        except teams.TeamExists as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Created team {team.slug} ({team.name}).")

    def add(self, slug: str, username: str, role: str) -> None:
        team = self.team(slug)
        form = MembershipForm({"username": username, "role": role})
        if not form.is_valid():
            raise CommandError(form_errors(form))
        user = form.cleaned_data["user"]
        before = teams.member_set(
            by=None, team=team, user=user, role=role, may_leave_without_admin=True
        )
        if before is None:
            self.stdout.write(f"Added {username} to {slug} as {role}.")
        elif before == role:
            self.stdout.write(f"{username} is {role} in {slug} already.")
        else:
            self.stdout.write(f"{username} is now {role} in {slug} (was {before}).")
        self.warn_without_admin(team)

    def remove(self, slug: str, username: str) -> None:
        team = self.team(slug)
        users = get_user_model()
        user = users._default_manager.filter(**{users.USERNAME_FIELD: username}).first()
        if user is None:
            raise CommandError(f"There is no user named {username}.")
        try:
            role = teams.member_remove(by=None, team=team, user=user, may_leave_without_admin=True)
        except teams.NotMember as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Removed {username} ({role}) from {slug}.")
        self.warn_without_admin(team)

    def list(self) -> None:
        for team in teams.teams_with_members():
            members = " ".join(f"{m.user.get_username()}:{m.role}" for m in team.memberships.all())
            self.stdout.write(f"{team.slug}\t{team.name}\t{members or '(no members)'}")

    def team(self, slug: str) -> Team:
        try:
            validate_team_slug(slug)
        except ValidationError as error:
            raise CommandError(error.messages[0]) from error
        team = Team.objects.filter(slug=slug).first()
        if team is None:
            raise CommandError(
                f"There is no team {slug}; `python manage.py teams list` shows them."
            )
        return team

    def warn_without_admin(self, team: Team) -> None:
        if team.memberships.exists() and not teams.has_admin(team):
            self.stderr.write(
                f"{team.slug} has no admin now: only superusers can manage its members."
            )
