"""Who may see or do what. Pure functions of (actor, action, target): no database or engine
calls here; the caller loads the actor (actors.py) and the target's labels.

A user's rights come from their role in each team (viewer, operator, admin) over the objects
that team owns: those labelled berth.team=<slug>, or of a compose project assigned to it.
Superusers administer the host: every object (those of no team included), prune, the
privileged `docker run` options. A wall screen only looks at its team's containers. Anything
not granted here is refused.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

# What a team's object is asked for, weakest first; each role has the ones up to its own.
VIEW = "view"  # lists, details, stats (and logs: LOGS)
LOGS = "logs"  # a container's log lines: viewers; screens only where enabled
OPERATE = "operate"  # start, stop, restart, pause, unpause, kill, a terminal
ADMINISTER = "administer"  # run, create, remove, commit, push, build, recreate; members, policy
# The values of secret-looking environment variables (masking.py decides which look secret):
# whoever may open a terminal in a container can read them there anyway.
SEE_SECRETS = "see secrets"
# Asked without a target by the routes (views/common.py): may this actor change anything at
# all? A team's operators and admins, and superusers; their object is checked in the view.
CHANGE = "change"

# The host's own rights, superusers' only:
# A volume of any driver, or with the local driver's mount options (type=none o=bind
# device=/any/host/path mounts any host folder into a container): as good as root on the host.
ANY_VOLUME = "create any volume"
# Another user's registry login: see that it exists (never its password) and remove it.
ANY_CREDENTIAL = "manage anyone's registry login"
# `docker run` options that hand a container some of the host's root: see privileged_options.
RUN_PRIVILEGED = "run privileged containers"
# `docker ... prune` removes every team's unused objects.
PRUNE = "prune"
# Hand a compose project (and so its objects) to a team.
ASSIGN = "assign to a team"
# Add, grant, test and remove engines: each is root on a host.
MANAGE_ENGINES = "manage engines"
HOST_ONLY = (ANY_VOLUME, ANY_CREDENTIAL, RUN_PRIVILEGED, PRUNE, ASSIGN, MANAGE_ENGINES)

# The label Berth puts on what a team creates; no `berth.*` label is set from a form.
TEAM_LABEL = "berth.team"
RESERVED_LABEL_PREFIX = "berth."
# Labels only Berth (berth.*) or Docker Compose (com.docker.compose.*) set: either claims an
# object for a team, or for a compose project a team may have been handed.
RESERVED_LABEL_PREFIXES = (RESERVED_LABEL_PREFIX, "com.docker.compose.")
RESERVED_LABELS_SAID = "berth.* and com.docker.compose.*"
PROJECT_LABEL = "com.docker.compose.project"

CONTAINER, IMAGE, NETWORK, VOLUME = "container", "image", "network", "volume"

ROLES = ("viewer", "operator", "admin")
TEAM_ADMIN = ROLES[-1]
# The weakest role that may do each action to a team's object.
NEEDS = {
    VIEW: "viewer",
    LOGS: "viewer",
    OPERATE: "operator",
    SEE_SECRETS: "operator",
    CHANGE: "operator",
    ADMINISTER: "admin",
}


class Person(Protocol):
    is_authenticated: bool
    is_active: bool
    is_staff: bool
    is_superuser: bool


@dataclass(frozen=True)
class ScreenScope:
    """What a wall screen shows: `team`'s containers (None: every container on the host),
    only those of compose project `project` if set; log lines only if `logs`."""

    team: str | None
    project: str = ""
    logs: bool = False


@dataclass(frozen=True)
class Actor:
    """Who asks: a user (with their role in each team, by slug) or a wall screen. `projects`:
    the compose projects assigned to a team on the engine asked about (project: slug)."""

    name: str
    user_id: int | None = None
    active: bool = False
    superuser: bool = False
    roles: Mapping[str, str] = field(default_factory=dict)
    projects: Mapping[str, str] = field(default_factory=dict)
    screen: ScreenScope | None = None

    @property
    def is_user(self) -> bool:
        return self.active and self.screen is None

    def key(self) -> tuple:
        """What decides this actor's rights, hashable: actors with the same key see the same
        things, so a live page renders once for all of them."""
        return (
            self.active,
            self.superuser,
            frozenset(self.roles.items()),
            frozenset(self.projects.items()),
            self.screen,
        )


NOBODY = Actor(name="")


@dataclass(frozen=True)
class Target:
    """What is asked about: an object of `kind` with its labels. `team`: an explicit owner (a
    team's own page, an object about to be created for that team). `used_by`, for an image:
    the owner of each container using it ("" for a container of no team); `made_by`, the
    teams recorded as having made or brought it. `host_default`:
    one of the engine's own networks (bridge, host, none), which every user sees."""

    kind: str
    labels: Mapping[str, str] = field(default_factory=dict)
    team: str | None = None
    used_by: frozenset[str] = frozenset()
    # For an image: the teams that made or brought it through Berth (image_origins.py).
    made_by: frozenset[str] = frozenset()
    # One of the engine's own networks (bridge, host, none): every user sees and uses them;
    # nobody removes them.
    host_default: bool = False


def owner(actor: Actor, target: Target) -> str | None:
    """The slug of the team that owns `target`, or None: its explicit team, its berth.team
    label (empty: no team), or else the team its compose project is assigned to."""
    if target.team:
        return target.team
    labels = target.labels or {}
    if TEAM_LABEL in labels:
        # Set by Berth on all it makes; empty for what a superuser made for no team, which
        # no compose project label may then claim.
        return labels[TEAM_LABEL] or None
    project = labels.get(PROJECT_LABEL)
    return actor.projects.get(project) if project else None


def role_at_least(role: str | None, needed: str) -> bool:
    """Whether `role` (None: not a member) is `needed` or stronger. An unknown `role` counts
    for nothing; an unknown `needed` is a mistake in the caller's code, so it raises."""
    if needed not in ROLES:
        raise ValueError(f"Unknown role {needed!r}: one of {', '.join(ROLES)}.")
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def _has_role_somewhere(actor: Actor, needed: str) -> bool:
    return any(role_at_least(role, needed) for role in actor.roles.values())


def _screen_allows(screen: ScreenScope, actor: Actor, action: str, target: Target | None) -> bool:
    if action not in (VIEW, LOGS) or target is None or target.kind != CONTAINER:
        return False
    if action == LOGS and not screen.logs:
        return False
    if screen.team is not None and owner(actor, target) != screen.team:
        return False
    return not screen.project or (target.labels or {}).get(PROJECT_LABEL) == screen.project


def _image_allows(actor: Actor, action: str, target: Target) -> bool:
    # Images are the host's, shared by every team: anyone looks; a team admin adds them (pull,
    # build, load, tag) and removes one only when no container of another team (or of no
    # team) uses it. Its secret values (and its layers, saved) are the teams' that made or
    # brought it: an image another team committed holds that team's environment.
    if action == VIEW:
        return True
    admin_of = {slug for slug, role in actor.roles.items() if role == TEAM_ADMIN}
    if action == ADMINISTER:
        return bool(admin_of) and target.used_by <= admin_of
    if action == SEE_SECRETS:
        return any(role_at_least(actor.roles.get(team), NEEDS[action]) for team in target.made_by)
    return False


def allowed(actor: Actor, action: str, target: Target | None = None) -> bool:
    """Whether `actor` may do `action` to `target`. Without a target: whether they may do it
    to something (a route's first check, before its object is known)."""
    if not actor.active:
        return False
    if actor.screen is not None:
        return _screen_allows(actor.screen, actor, action, target)
    if actor.superuser:
        return True
    if action in HOST_ONLY:
        return False
    if target is None:
        return action == VIEW or (action in NEEDS and _has_role_somewhere(actor, NEEDS[action]))
    if action not in NEEDS:
        return False
    if target.kind == IMAGE:
        return _image_allows(actor, action, target)
    if target.host_default:
        return action == VIEW
    team = owner(actor, target)
    return team is not None and role_at_least(actor.roles.get(team), NEEDS[action])


def teams_for(actor: Actor, action: str) -> list[str]:
    """The teams (slugs) whose objects `actor` may do `action` to, for a form's team choice."""
    if not actor.is_user or action not in NEEDS:
        return []
    return sorted(slug for slug, role in actor.roles.items() if role_at_least(role, NEEDS[action]))


Labelled = TypeVar("Labelled")


def target_of(kind: str, obj: object) -> Target:
    """The target of an engine object of `kind` (with `.labels`): a network's `builtin` (one
    of the engine's own: bridge, host, none) makes it host_default."""
    builtin = kind == NETWORK and bool(getattr(obj, "builtin", False))
    return Target(kind, getattr(obj, "labels", None) or {}, host_default=builtin)


def visible(actor: Actor, kind: str, objects: Iterable[Labelled]) -> list[Labelled]:
    """The `objects` (each with `.labels`) that `actor` may see, in their order. Lists are
    filtered through this before they are rendered."""
    return [o for o in objects if allowed(actor, VIEW, target_of(kind, o))]


def reserved_labels(labels: Iterable[str]) -> list[str]:
    """The label keys among `labels` that only Berth or Docker Compose set."""
    return [key for key in labels if key.lower().startswith(RESERVED_LABEL_PREFIXES)]


def owns(user: Person, owner_id: int | None) -> bool:
    """Whether `user` may see and change something a user made for themselves (a job, a
    registry login): its owner, or a superuser."""
    if not (user.is_authenticated and user.is_active):
        return False
    return bool(user.is_superuser) or owner_id == getattr(user, "pk", None)


def administers_host(user: Person) -> bool:
    """Superusers: every team's objects and the host's own rights (HOST_ONLY), for the few
    questions asked of a user account rather than an actor (anyone's registry logins)."""
    return bool(user.is_authenticated and user.is_active and user.is_superuser)


# Every audit entry, whatever its team: see audit_scope.
AUDIT_ALL = "all"


def audit_scope(actor: Actor) -> str | frozenset[str] | None:
    """Which audit entries `actor` may read: AUDIT_ALL for a superuser; the entries of the
    teams they are an admin of; None for anyone else, who has no audit page at all. Entries
    of no team (denied attempts, changes to objects of no team) are a superuser's only: they
    may name anyone's objects."""
    if not actor.is_user:
        return None
    if actor.superuser:
        return AUDIT_ALL
    return frozenset(slug for slug, role in actor.roles.items() if role == TEAM_ADMIN) or None


# --- Teams ----------------------------------------------------------------------------------
# Teams' own pages (members): user accounts, not actors, since a screen never reaches them.


def _active(user: Person) -> bool:
    return bool(user.is_authenticated and user.is_active)


def may_create_team(user: Person) -> bool:
    return _active(user) and bool(user.is_superuser)


def may_see_team(user: Person, role_in_team: str | None) -> bool:
    """Whether `user` may see a team and its members: superusers, and its members. Anyone
    else must not learn that it exists, so views answer them 404."""
    return _active(user) and (bool(user.is_superuser) or role_in_team in ROLES)


def may_manage_team(user: Person, role_in_team: str | None) -> bool:
    """Whether `user` may add, change and remove a team's members: superusers, and that
    team's admins."""
    return _active(user) and (bool(user.is_superuser) or role_at_least(role_in_team, TEAM_ADMIN))


def may_set_team_policy(user: Person) -> bool:
    """Only superusers: a policy binds the team, its admins included; they read it."""
    return _active(user) and bool(user.is_superuser)


def leaves_team_without_admin(*, role: str | None, new_role: str | None, admins: int) -> bool:
    """Whether changing a member from `role` to `new_role` (None: removing them) leaves a team
    that has `admins` admins (them included) without any."""
    return role == TEAM_ADMIN and new_role != TEAM_ADMIN and admins <= 1


def may_leave_team_without_admin(user: Person) -> bool:
    """Only superusers: a team admin who demotes or removes its last admin locks the team
    out of managing itself, and only a superuser could then fix it."""
    return _active(user) and bool(user.is_superuser)
