"""Teams and their members: every change to them, from a page or from the shell, with its
audit entry and the equivalent `python manage.py teams` line. Who may ask is the callers'
question (access.py); the last-admin rule is checked here, in the same transaction as the
change, so two admins demoting each other at once cannot both pass it."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Prefetch

from containers_app import access, audit, cli
from containers_app.engine import Engine
from containers_app.models import Membership, ProjectAssignment, Team
from containers_app.policy import Policy


class TeamExists(Exception):
    pass


class NotMember(Exception):
    pass


class LastAdmin(Exception):
    """The change would leave the team without an admin, and its author may not do that."""


def role_in(user, team: Team) -> str | None:
    """`user`'s role in `team`, or None if they are not a member."""
    if not user.is_authenticated:
        return None
    return team.memberships.filter(user=user).values_list("role", flat=True).first()


def team_rows(user, *, every: bool) -> list[dict]:
    """The teams a list shows `user`: every team (`every`), or those they are a member of;
    each with its number of members and `user`'s role in it (None: not a member)."""
    teams = Team.objects.annotate(member_count=Count("memberships"))
    if not every:
        teams = teams.filter(pk__in=user.memberships.values("team"))
    roles = dict(user.memberships.values_list("team_id", "role"))
    return [
        {
            "slug": team.slug,
            "name": team.name,
            "members": team.member_count,
            "role": roles.get(team.pk),
        }
        for team in teams.order_by("slug")
    ]


def teams_with_members():
    """Every team, in slug order, with its memberships (and users) in username order."""
    members = Membership.objects.select_related("user").order_by("user__username")
    return Team.objects.order_by("slug").prefetch_related(Prefetch("memberships", members))


def members_of(team: Team) -> list[Membership]:
    return list(team.memberships.select_related("user").order_by("user__username"))


def has_admin(team: Team) -> bool:
    return team.memberships.filter(role=access.TEAM_ADMIN).exists()


def team_create(*, by, slug: str, name: str) -> Team:
    """Creates a team. `by`: the user who asks, None from the shell."""
    command = cli.team_create(slug, name)
    try:
        with transaction.atomic():
            team = Team.objects.create(slug=slug, name=name)
            audit.team_change(
                user=by, action="team create", team=slug, command=command, message=name
            )
    except IntegrityError as error:
        # The unique slug, checked by the database: a check before the insert could race.
        reason = f"A team {slug} exists already."
        audit.team_change(user=by, action="team create", team=slug, command=command, error=reason)
        raise TeamExists(reason) from error
    return team


@contextmanager
def team_locked(slug: str) -> Iterator[None]:
    """Holds team `slug` locked until the block ends, in the database so that it holds across
    Berth's processes: a run checks the team's container maximum and creates its container
    inside, and a second run of the team waits for it. Its first statement is a write, which
    takes SQLite's one write lock at once (and the team's row lock elsewhere). No team: no
    lock."""
    if not slug:
        yield
        return
    with transaction.atomic():
        Team.objects.filter(slug=slug).update(name=F("name"))
        Team.objects.select_for_update().filter(slug=slug).first()
        yield


def policies_of(slugs: list[str]) -> list[Policy]:
    """The policies of the teams `slugs`, in one query."""
    return [Policy.of(team) for team in Team.objects.filter(slug__in=[s for s in slugs if s])]


def _lock(team: Team) -> None:
    """Serialises changes to one team's members (on databases with row locks; SQLite lets
    one writer at a time through anyway)."""
    Team.objects.select_for_update().filter(pk=team.pk).first()


def _last_admin_refusal(
    team: Team, username: str, role: str | None, new_role: str | None, may_leave: bool
) -> str:
    admins = team.memberships.filter(role=access.TEAM_ADMIN).count()
    if may_leave or not access.leaves_team_without_admin(
        role=role, new_role=new_role, admins=admins
    ):
        return ""
    return (
        f"{username} is the last admin of {team.slug}: make another member admin first "
        "(a superuser may leave a team without admins)."
    )


def member_set(*, by, team: Team, user, role: str, may_leave_without_admin: bool) -> str | None:
    """Gives `user` `role` in `team`, adding them if they are not a member. Returns their role
    before (None: they were not a member). Raises LastAdmin instead of demoting the team's
    last admin, unless `may_leave_without_admin`."""
    username = user.get_username()
    command = cli.team_add(team.slug, username, role)
    with transaction.atomic():
        _lock(team)
        before = team.memberships.filter(user=user).values_list("role", flat=True).first()
        refusal = _last_admin_refusal(team, username, before, role, may_leave_without_admin)
        if not refusal:
            Membership.objects.update_or_create(team=team, user=user, defaults={"role": role})
            if before is None:
                message = f"added {username} as {role}"
            elif before == role:
                message = f"{username} was {role} already"
            else:
                message = f"{username}: {before} → {role}"
            audit.team_change(
                user=by, action="team add", team=team.slug, command=command, message=message
            )
    if refusal:
        audit.team_change(
            user=by, action="team add", team=team.slug, command=command, error=refusal, denied=True
        )
        raise LastAdmin(refusal)
    return before


def member_remove(*, by, team: Team, user, may_leave_without_admin: bool) -> str:
    """Removes `user` from `team`; returns the role they had. Raises NotMember if they are
    not in it, LastAdmin instead of removing its last admin unless `may_leave_without_admin`."""
    username = user.get_username()
    command = cli.team_remove(team.slug, username)
    with transaction.atomic():
        _lock(team)
        membership = team.memberships.filter(user=user).first()
        if membership is None:
            raise NotMember(f"{username} is not a member of {team.slug}.")
        refusal = _last_admin_refusal(
            team, username, membership.role, None, may_leave_without_admin
        )
        if not refusal:
            membership.delete()
            audit.team_change(
                user=by,
                action="team remove",
                team=team.slug,
                command=command,
                message=f"removed {username} ({membership.role})",
            )
    if refusal:
        audit.team_change(
            user=by,
            action="team remove",
            team=team.slug,
            command=command,
            error=refusal,
            denied=True,
        )
        raise LastAdmin(refusal)
    return membership.role


def assignments_of(team: Team) -> list[ProjectAssignment]:
    """The compose projects assigned to `team`, on every engine."""
    return list(team.projects.order_by("engine", "project"))


def projects_of(team: Team, engine: Engine) -> list[str]:
    """The compose projects assigned to `team` on `engine`."""
    return list(
        team.projects.filter(engine=engine.slug)
        .order_by("project")
        .values_list("project", flat=True)
    )


def project_assign(*, by, engine: Engine, team: Team, project: str) -> str | None:
    """Hands compose project `project` on `engine` to `team` (its containers, networks and
    volumes, those compose makes later too). Returns the team it had before, if another."""
    command = cli.team_assign(team.slug, project)
    with transaction.atomic():
        found = ProjectAssignment.objects.select_related("team").filter(
            engine=engine.slug, project=project
        )
        before = found.first()
        ProjectAssignment.objects.update_or_create(
            engine=engine.slug, project=project, defaults={"team": team}
        )
        was = before.team.slug if before and before.team_id != team.pk else None
        message = f"compose project {project}" + (f" (was {was}'s)" if was else "")
        audit.team_change(
            user=by, action="team assign", team=team.slug, command=command, message=message
        )
    return was


def project_unassign(*, by, engine: Engine, project: str) -> str | None:
    """Takes compose project `project` from its team: its objects are then of no team
    (superusers only). Returns the team it had, None if it had none."""
    command = cli.team_unassign(project)
    with transaction.atomic():
        found = (
            ProjectAssignment.objects.select_related("team")
            .filter(engine=engine.slug, project=project)
            .first()
        )
        if found is None:
            return None
        slug = found.team.slug
        found.delete()
        audit.team_change(
            user=by,
            action="team unassign",
            team=slug,
            command=command,
            message=f"compose project {project}",
        )
    return slug
