"""Who may see or do what. Pure functions: no database or engine calls here.

Signed-in users may look at everything; staff (the team admins) may change things and see
secret values; only superusers may create volumes that can reach the host's own files, or
run containers with options that give them some of the host's root.
"""

import posixpath
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from containers_app.engine.specs import ContainerSpec

VIEW = "view"
CHANGE = "change"
# The values of secret-looking environment variables (masking.py decides which look secret).
SEE_SECRETS = "see secrets"
# A volume of any driver, or with the local driver's mount options (type=none o=bind
# device=/any/host/path mounts any host folder into a container): as good as root on the host.
ANY_VOLUME = "create any volume"
# Another user's registry login: see that it exists (never its password) and remove it.
ANY_CREDENTIAL = "manage anyone's registry login"
# `docker run` options that hand a container some of the host's root: see privileged_options.
RUN_PRIVILEGED = "run privileged containers"


class Person(Protocol):
    is_authenticated: bool
    is_active: bool
    is_staff: bool
    is_superuser: bool


def owns(user: Person, owner_id: int | None) -> bool:
    """Whether `user` may see and change something a user made for themselves (a job, a
    registry login): its owner, or a superuser."""
    if not (user.is_authenticated and user.is_active):
        return False
    return bool(user.is_superuser) or owner_id == getattr(user, "pk", None)


# Every audit entry, whatever its team: see audit_scope.
AUDIT_ALL = "all"


def audit_scope(user: Person, admin_teams: Iterable[str]) -> str | frozenset[str] | None:
    """Which audit entries `user` may read: AUDIT_ALL for a superuser; the entries of the
    teams (slugs) in `admin_teams`, those they are an admin of; None for anyone else, who
    has no audit page at all. Entries of no team (denied attempts, changes to objects of no
    team) are a superuser's only: they may name anyone's objects."""
    if not (user.is_authenticated and user.is_active):
        return None
    if user.is_superuser:
        return AUDIT_ALL
    return frozenset(admin_teams) or None


def allowed(user: Person, action: str) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    if action == VIEW:
        return True
    if action in (CHANGE, SEE_SECRETS):
        return bool(user.is_staff)
    if action in (ANY_VOLUME, ANY_CREDENTIAL, RUN_PRIVILEGED):
        return bool(user.is_staff and user.is_superuser)
    return False


# --- Teams ----------------------------------------------------------------------------------
# A user's role in a team, weakest first: each role may do all that the roles before it may.
# The same strings as Membership.ROLES; kept here too so these rules stay free of the database.
ROLES = ("viewer", "operator", "admin")
TEAM_ADMIN = ROLES[-1]


def _active(user: Person) -> bool:
    return bool(user.is_authenticated and user.is_active)


def role_at_least(role: str | None, needed: str) -> bool:
    """Whether `role` (None: not a member) is `needed` or stronger. An unknown `role` counts
    for nothing; an unknown `needed` is a mistake in the caller's code, so it raises."""
    if needed not in ROLES:
        raise ValueError(f"Unknown role {needed!r}: one of {', '.join(ROLES)}.")
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


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


def leaves_team_without_admin(*, role: str | None, new_role: str | None, admins: int) -> bool:
    """Whether changing a member from `role` to `new_role` (None: removing them) leaves a team
    that has `admins` admins (them included) without any."""
    return role == TEAM_ADMIN and new_role != TEAM_ADMIN and admins <= 1


def may_leave_team_without_admin(user: Person) -> bool:
    """Only superusers: a team admin who demotes or removes its last admin locks the team
    out of managing itself, and only a superuser could then fix it."""
    return _active(user) and bool(user.is_superuser)


# Where an engine's socket lives; whoever reaches it commands the engine, which runs as root.
DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")
# Reduces what a container may do: no --security-opt needs less than this.
HARMLESS_SECURITY_OPTS = ("no-new-privileges", "no-new-privileges:true", "no-new-privileges=true")


def _reaches_docker_socket(host_path: str) -> bool:
    path = posixpath.normpath(host_path)
    inside = path.rstrip("/") + "/"
    return path.endswith("docker.sock") or any(
        socket == path or socket.startswith(inside) for socket in DOCKER_SOCKETS
    )


def privileged_options(
    spec: "ContainerSpec", *, host_volumes: Mapping[str, str] | None = None
) -> list[str]:
    """Why each option of `spec` that gives the container some of the host's root does so,
    one sentence each naming the option; empty if it has none. Only RUN_PRIVILEGED may run
    them. `host_volumes`: named volumes that are a host folder or device, with what they are."""
    reasons = []
    if spec.privileged:
        reasons.append(
            "--privileged gives the container every capability of the host's root and all "
            "of the host's devices."
        )
    reasons += [
        f"--cap-add {cap} gives the container that capability of the host's root."
        for cap in spec.cap_add
    ]
    reasons += [
        f"--device {d.host_path} gives the container the host's device {d.host_path}."
        for d in spec.device
    ]
    if spec.network == "host":
        reasons.append(
            "--network host puts the container in the host's own network stack: it can "
            "listen on any host address and reach services that listen only on the host."
        )
    elif spec.network.startswith("container:"):
        reasons.append(
            f"--network {spec.network} joins another container's network stack, which may "
            "be the host's own."
        )
    if spec.pid == "host":
        reasons.append("--pid host lets the container see and signal every process of the host.")
    elif spec.pid.startswith("container:"):
        reasons.append(
            f"--pid {spec.pid} joins another container's processes, which may be the host's."
        )
    if spec.ipc == "host":
        reasons.append("--ipc host shares the host's shared memory and semaphores.")
    elif spec.ipc.startswith("container:"):
        reasons.append(
            f"--ipc {spec.ipc} joins another container's shared memory, which may be the host's."
        )
    if spec.userns == "host":
        reasons.append(
            "--userns host turns off user-namespace remapping: root in the container is "
            "root on the host."
        )
    reasons += [
        f"--security-opt {option} changes the confinement (seccomp, AppArmor, SELinux) that "
        "keeps the container from the host."
        for option in spec.security_opt
        if option not in HARMLESS_SECURITY_OPTS
    ]
    binds = [(f"--volume {v.source}:{v.target}", v.source) for v in spec.volume if v.host_path]
    binds += [
        (f"--mount type=bind,source={m.source},target={m.target}", m.source)
        for m in spec.mount
        if m.type == "bind"
    ]
    for option, source in binds:
        if _reaches_docker_socket(source):
            reasons.append(
                f"{option} mounts the Docker socket: it lets the container command the "
                "engine, which is root on the host."
            )
        else:
            reasons.append(
                f"{option} mounts the host's folder {source}: the container can read and "
                "change the host's own files."
            )
    volumes = [(f"--volume {v.source}:{v.target}", v.source) for v in spec.volume]
    volumes += [
        (f"--mount type=volume,source={m.source},target={m.target}", m.source)
        for m in spec.mount
        if m.type == "volume"
    ]
    reasons += [
        f"{option}: the volume {name} is {(host_volumes or {})[name]}."
        for option, name in volumes
        if name in (host_volumes or {})
    ]
    return reasons
