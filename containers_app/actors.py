"""Who is asking, as access.py needs it: a user with their role in each team, or a wall
screen, with the compose projects assigned to teams on the engine asked about. A team not
granted that engine gives no role on it: its members see nothing of it."""

from containers_app.access import NOBODY, Actor, ScreenScope
from containers_app.engine import Engine
from containers_app.models import Membership, ProjectAssignment, Screen


def assigned_projects(engine: Engine) -> dict[str, str]:
    """Each compose project assigned to a team on `engine`: project -> team slug."""
    return dict(
        ProjectAssignment.objects.filter(engine=engine.slug).values_list("project", "team__slug")
    )


def of_user(user, engine: Engine | None) -> Actor:
    """The actor for `user` (signed in or not) asking about `engine`; with no engine (the
    audit trail, which spans them), with every role and no compose project. Two queries."""
    if not (user.is_authenticated and user.is_active):
        return NOBODY
    roles = dict(Membership.objects.filter(user=user).values_list("team__slug", "role"))
    if engine is not None:
        roles = {team: role for team, role in roles.items() if engine.granted(team)}
    return Actor(
        name=user.get_username(),
        user_id=user.pk,
        active=True,
        superuser=bool(user.is_superuser),
        roles=roles,
        projects=assigned_projects(engine) if engine is not None else {},
    )


def of_screen(screen: Screen, engine: Engine) -> Actor:
    """The actor for a wall screen (revoked: nobody; a team's screen on an engine not
    granted to the team: nobody there)."""
    if screen.revoked is not None:
        return NOBODY
    team = screen.team.slug if screen.team_id else None
    if team is not None and not engine.granted(team):
        return NOBODY
    return Actor(
        name=f"screen {screen.name}",
        active=True,
        projects=assigned_projects(engine),
        screen=ScreenScope(team=team, project=screen.project, logs=screen.show_logs),
    )


def of_request(request, engine: Engine) -> Actor:
    """The actor of an HTTP request, loaded once per request."""
    actor = getattr(request, "_berth_actor", None)
    if actor is None:
        actor = of_user(request.user, engine)
        request._berth_actor = actor
    return actor
