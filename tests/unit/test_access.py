"""Who may see or do what (access.py): each role against each action on its own team's
objects, another team's, objects of no team and of an assigned compose project; superusers,
wall screens, shared images, the engine's own networks and the host's own rights."""

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser

from containers_app import access
from containers_app.access import (
    ADMINISTER,
    CHANGE,
    CONTAINER,
    IMAGE,
    LOGS,
    NETWORK,
    OPERATE,
    PROJECT_LABEL,
    SEE_SECRETS,
    TEAM_LABEL,
    VIEW,
    VOLUME,
    Actor,
    ScreenScope,
    Target,
)

HOME, OTHER = "web", "api"
# A compose project assigned to HOME, and one assigned to OTHER.
HOME_PROJECT, OTHER_PROJECT = "shop", "billing"
ASSIGNED = {HOME_PROJECT: HOME, OTHER_PROJECT: OTHER}

# Everything a team's object can be asked for, and what each role may do of it.
TEAM_ACTIONS = (VIEW, LOGS, OPERATE, SEE_SECRETS, CHANGE, ADMINISTER)
MAY = {
    "viewer": {VIEW, LOGS},
    "operator": {VIEW, LOGS, OPERATE, SEE_SECRETS, CHANGE},
    "admin": {VIEW, LOGS, OPERATE, SEE_SECRETS, CHANGE, ADMINISTER},
}
KINDS = (CONTAINER, NETWORK, VOLUME)


def user(*roles: tuple[str, str], superuser: bool = False, active: bool = True) -> Actor:
    """A signed-in user with (team, role) memberships, on an engine where ASSIGNED holds."""
    return Actor(
        name="someone",
        user_id=7,
        active=active,
        superuser=superuser,
        roles=dict(roles),
        projects=ASSIGNED,
    )


def screen(team: str | None = HOME, *, project: str = "", logs: bool = False) -> Actor:
    return Actor(
        name="screen hall",
        active=True,
        projects=ASSIGNED,
        screen=ScreenScope(team=team, project=project, logs=logs),
    )


def of_team(team: str, kind: str = CONTAINER, **labels: str) -> Target:
    return Target(kind, {TEAM_LABEL: team, **labels})


def of_project(project: str, kind: str = CONTAINER) -> Target:
    return Target(kind, {PROJECT_LABEL: project})


def of_no_team(kind: str = CONTAINER) -> Target:
    return Target(kind, {"com.example.purpose": "unowned"})


def what_may(actor: Actor, target: Target | None) -> set[str]:
    return {action for action in TEAM_ACTIONS if access.allowed(actor, action, target)}


# --- Team members ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", access.ROLES)
def test_each_role_may_do_its_own_actions_to_its_own_team_s_objects(role, kind):
    assert what_may(user((HOME, role)), of_team(HOME, kind)) == MAY[role]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", access.ROLES)
def test_each_role_may_do_nothing_to_another_team_s_objects(role, kind):
    assert what_may(user((HOME, role)), of_team(OTHER, kind)) == set()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", access.ROLES)
def test_each_role_may_do_nothing_to_an_object_of_no_team(role, kind):
    assert what_may(user((HOME, role)), of_no_team(kind)) == set()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", access.ROLES)
def test_an_object_of_a_project_assigned_to_the_team_is_the_team_s(role, kind):
    assert what_may(user((HOME, role)), of_project(HOME_PROJECT, kind)) == MAY[role]


@pytest.mark.parametrize("role", access.ROLES)
def test_an_object_of_a_project_assigned_to_another_team_is_out_of_reach(role):
    assert what_may(user((HOME, role)), of_project(OTHER_PROJECT)) == set()


@pytest.mark.parametrize("role", access.ROLES)
def test_an_object_of_an_unassigned_project_belongs_to_no_team(role):
    assert what_may(user((HOME, role)), of_project("not-assigned")) == set()


def test_a_member_of_two_teams_has_the_role_of_each_team_on_its_own_objects():
    both = user((HOME, "admin"), (OTHER, "viewer"))
    assert what_may(both, of_team(HOME)) == MAY["admin"]
    assert what_may(both, of_team(OTHER)) == MAY["viewer"]


def test_a_role_the_code_does_not_know_counts_for_nothing():
    assert what_may(user((HOME, "owner")), of_team(HOME)) == set()


@pytest.mark.parametrize("action", ["delete", "", "VIEW", "admin"])
def test_an_unknown_action_is_refused_to_a_team_s_admin(action):
    assert access.allowed(user((HOME, "admin")), action, of_team(HOME)) is False
    assert access.allowed(user((HOME, "admin")), action) is False


# --- Without an object: a route's first check ------------------------------------------------


def test_anyone_signed_in_may_open_the_lists_even_without_a_team():
    assert access.allowed(user(), VIEW) is True
    assert access.allowed(user((HOME, "viewer")), VIEW) is True


@pytest.mark.parametrize(
    ("roles", "may_change"),
    [
        ((), False),
        (((HOME, "viewer"),), False),
        (((HOME, "operator"),), True),
        (((HOME, "admin"),), True),
        (((HOME, "viewer"), (OTHER, "operator")), True),
    ],
)
def test_only_an_operator_or_admin_of_some_team_passes_a_route_that_changes(roles, may_change):
    actor = user(*roles)
    assert access.allowed(actor, CHANGE) is may_change
    assert access.allowed(actor, OPERATE) is may_change


def test_administering_something_needs_an_admin_of_some_team():
    assert access.allowed(user((HOME, "operator")), ADMINISTER) is False
    assert access.allowed(user((HOME, "admin")), ADMINISTER) is True


# --- Superusers, inactive accounts, nobody -------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [of_team(HOME), of_team(OTHER), of_no_team(), of_project("not-assigned"), None],
    ids=["home team", "other team", "no team", "unassigned project", "no object"],
)
def test_a_superuser_may_do_everything_to_anything(target):
    boss = user(superuser=True)
    assert what_may(boss, target) == set(TEAM_ACTIONS)
    assert all(access.allowed(boss, action, target) for action in access.HOST_ONLY)


@pytest.mark.parametrize(
    "actor",
    [
        user((HOME, "admin"), active=False),
        user(superuser=True, active=False),
        access.NOBODY,
        Actor(name="revoked", active=False, screen=ScreenScope(team=HOME)),
    ],
    ids=["inactive admin", "inactive superuser", "nobody", "inactive screen"],
)
def test_an_inactive_actor_or_nobody_may_do_nothing(actor):
    for target in (of_team(HOME), of_no_team(), Target(IMAGE), None):
        assert what_may(actor, target) == set()
    assert not any(access.allowed(actor, action) for action in access.HOST_ONLY)


# --- The host's own rights -----------------------------------------------------------------


@pytest.mark.parametrize("action", access.HOST_ONLY)
def test_the_host_s_own_rights_are_refused_to_every_team_role(action):
    for role in access.ROLES:
        actor = user((HOME, role), (OTHER, role))
        assert access.allowed(actor, action) is False, role
        assert access.allowed(actor, action, of_team(HOME)) is False, role
    assert access.allowed(screen(None), action) is False


@pytest.mark.parametrize("action", access.HOST_ONLY)
def test_the_host_s_own_rights_are_a_superuser_s(action):
    assert access.allowed(user(superuser=True), action) is True


# --- Wall screens ---------------------------------------------------------------------------


def test_a_screen_sees_its_team_s_containers_and_nothing_more():
    assert what_may(screen(HOME), of_team(HOME)) == {VIEW}
    assert what_may(screen(HOME), of_project(HOME_PROJECT)) == {VIEW}


def test_a_screen_reads_log_lines_only_where_they_are_enabled():
    assert access.allowed(screen(HOME, logs=False), LOGS, of_team(HOME)) is False
    assert what_may(screen(HOME, logs=True), of_team(HOME)) == {VIEW, LOGS}


@pytest.mark.parametrize("logs", [False, True])
def test_a_screen_never_operates_administers_or_reads_secrets(logs):
    for team in (HOME, None):
        for target in (of_team(HOME), of_no_team(), None):
            for action in (OPERATE, ADMINISTER, SEE_SECRETS, CHANGE, *access.HOST_ONLY):
                assert access.allowed(screen(team, logs=logs), action, target) is False


@pytest.mark.parametrize("logs", [False, True])
def test_a_screen_never_sees_another_team_s_containers(logs):
    shows = screen(HOME, logs=logs)
    assert what_may(shows, of_team(OTHER)) == set()
    assert what_may(shows, of_project(OTHER_PROJECT)) == set()
    assert what_may(shows, of_no_team()) == set()


def test_a_screen_of_a_project_shows_only_that_project_s_containers_of_its_team():
    shows = screen(HOME, project="shop")
    assert what_may(shows, of_team(HOME, **{PROJECT_LABEL: "shop"})) == {VIEW}
    assert what_may(shows, of_project(HOME_PROJECT)) == {VIEW}
    assert what_may(shows, of_team(HOME)) == set()
    assert what_may(shows, of_team(HOME, **{PROJECT_LABEL: "other"})) == set()
    assert what_may(shows, of_team(OTHER, **{PROJECT_LABEL: "shop"})) == set()


def test_a_screen_of_every_team_sees_every_container_and_still_only_looks():
    shows = screen(None)
    for target in (of_team(HOME), of_team(OTHER), of_no_team()):
        assert what_may(shows, target) == {VIEW}


@pytest.mark.parametrize("kind", [IMAGE, NETWORK, VOLUME])
def test_a_screen_sees_containers_only(kind):
    assert what_may(screen(HOME), of_team(HOME, kind)) == set()
    assert what_may(screen(None), Target(kind)) == set()


def test_a_screen_passes_no_route_s_first_check():
    assert what_may(screen(None, logs=True), None) == set()


# --- Images: shared by the host -------------------------------------------------------------


@pytest.mark.parametrize(
    "actor",
    [user(), user((HOME, "viewer")), user((HOME, "admin")), user(superuser=True)],
    ids=["no team", "viewer", "admin", "superuser"],
)
def test_everyone_signed_in_sees_every_image(actor):
    assert access.allowed(actor, VIEW, Target(IMAGE)) is True
    assert access.allowed(actor, VIEW, Target(IMAGE, used_by=frozenset({OTHER}))) is True


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_only_a_team_s_admin_adds_or_removes_images(role):
    assert access.allowed(user((HOME, role)), ADMINISTER, Target(IMAGE)) is False
    assert access.allowed(user((HOME, "admin")), ADMINISTER, Target(IMAGE)) is True


@pytest.mark.parametrize(
    ("used_by", "may_remove"),
    [
        (frozenset(), True),
        (frozenset({HOME}), True),
        (frozenset({OTHER}), False),
        (frozenset({HOME, OTHER}), False),
        (frozenset({""}), False),
        (frozenset({HOME, ""}), False),
    ],
    ids=["unused", "own team", "other team", "both teams", "no team", "own and no team"],
)
def test_a_team_admin_removes_an_image_only_when_no_other_team_s_container_uses_it(
    used_by, may_remove
):
    target = Target(IMAGE, used_by=used_by)
    assert access.allowed(user((HOME, "admin")), ADMINISTER, target) is may_remove


def test_an_admin_of_every_team_using_an_image_may_remove_it():
    target = Target(IMAGE, used_by=frozenset({HOME, OTHER}))
    assert access.allowed(user((HOME, "admin"), (OTHER, "admin")), ADMINISTER, target) is True
    # An admin of one and a viewer of the other is not enough.
    assert access.allowed(user((HOME, "admin"), (OTHER, "viewer")), ADMINISTER, target) is False


def test_a_superuser_removes_an_image_whoever_uses_it():
    target = Target(IMAGE, used_by=frozenset({HOME, OTHER, ""}))
    assert access.allowed(user(superuser=True), ADMINISTER, target) is True


def test_an_image_s_team_label_gives_no_team_more_than_any_other_image():
    labelled = Target(IMAGE, {TEAM_LABEL: OTHER})
    assert what_may(user((HOME, "admin")), labelled) == {VIEW, ADMINISTER}
    assert what_may(user((OTHER, "viewer")), labelled) == {VIEW}
    assert what_may(user((OTHER, "admin")), labelled) == {VIEW, ADMINISTER}


def test_an_image_s_secret_values_go_to_the_teams_that_made_it_only():
    made = Target(IMAGE, made_by=frozenset({HOME}))
    assert access.allowed(user((HOME, "operator")), SEE_SECRETS, made) is True
    assert access.allowed(user((HOME, "viewer")), SEE_SECRETS, made) is False
    assert access.allowed(user((OTHER, "admin")), SEE_SECRETS, made) is False
    # An image nobody recorded: nobody but a superuser.
    assert access.allowed(user((HOME, "admin")), SEE_SECRETS, Target(IMAGE)) is False
    assert access.allowed(user(superuser=True), SEE_SECRETS, Target(IMAGE)) is True


def test_nobody_but_a_superuser_operates_an_image_or_reads_its_logs():
    for action in (OPERATE, LOGS):
        assert access.allowed(user((HOME, "admin")), action, Target(IMAGE)) is False


# --- The engine's own networks (bridge, host, none) ----------------------------------------


@pytest.mark.parametrize("roles", [(), ((HOME, "viewer"),), ((HOME, "admin"),)])
def test_everyone_signed_in_sees_the_engine_s_own_networks_and_nobody_changes_them(roles):
    bridge = Target(NETWORK, {}, host_default=True)
    assert what_may(user(*roles), bridge) == {VIEW}


def test_an_engine_network_with_a_team_label_is_still_only_looked_at():
    bridge = Target(NETWORK, {TEAM_LABEL: HOME}, host_default=True)
    assert what_may(user((HOME, "admin")), bridge) == {VIEW}


# --- Lists ----------------------------------------------------------------------------------


def row(name: str, labels: dict) -> SimpleNamespace:
    return SimpleNamespace(name=name, labels=labels)


ROWS = [
    row("home", {TEAM_LABEL: HOME}),
    row("other", {TEAM_LABEL: OTHER}),
    row("unowned", {}),
    row("home-project", {PROJECT_LABEL: HOME_PROJECT}),
    row("other-project", {PROJECT_LABEL: OTHER_PROJECT}),
    row("home-again", {TEAM_LABEL: HOME, "x": "y"}),
]


def names(rows) -> list[str]:
    return [r.name for r in rows]


@pytest.mark.parametrize("role", access.ROLES)
def test_a_list_keeps_only_the_member_s_team_s_objects_in_their_order(role):
    seen = access.visible(user((HOME, role)), CONTAINER, ROWS)
    assert names(seen) == ["home", "home-project", "home-again"]


def test_a_superuser_s_list_keeps_everything():
    assert names(access.visible(user(superuser=True), CONTAINER, ROWS)) == names(ROWS)


def test_nobody_s_list_is_empty():
    assert access.visible(access.NOBODY, CONTAINER, ROWS) == []
    assert access.visible(user(), VOLUME, ROWS) == []


def test_a_screen_s_list_holds_its_team_s_containers_and_no_other_kind():
    assert names(access.visible(screen(HOME), CONTAINER, ROWS)) == [
        "home",
        "home-project",
        "home-again",
    ]
    assert access.visible(screen(HOME), NETWORK, ROWS) == []


def test_a_list_of_images_is_everyone_s():
    assert names(access.visible(user(), IMAGE, ROWS)) == names(ROWS)


# --- Who owns an object ---------------------------------------------------------------------


def test_an_explicit_team_comes_before_the_label_and_the_project():
    target = Target(CONTAINER, {TEAM_LABEL: "b", PROJECT_LABEL: HOME_PROJECT}, team="a")
    assert access.owner(user(), target) == "a"


def test_the_team_label_comes_before_an_assigned_project():
    target = Target(CONTAINER, {TEAM_LABEL: OTHER, PROJECT_LABEL: HOME_PROJECT})
    assert access.owner(user(), target) == OTHER
    # So the project's team has no hold on a container another team labelled.
    assert what_may(user((HOME, "admin")), target) == set()


def test_an_assigned_project_owns_an_object_without_the_label():
    assert access.owner(user(), of_project(HOME_PROJECT)) == HOME


def test_an_empty_team_label_is_no_team_whatever_project_the_image_named():
    # Berth sets it empty on what a superuser runs for no team: an image's compose project
    # label, passed on to the container, may not claim it for the project's team.
    claimed = Target(CONTAINER, {TEAM_LABEL: "", PROJECT_LABEL: HOME_PROJECT})
    assert access.owner(user(), claimed) is None


def test_an_object_without_label_or_assigned_project_has_no_owner():
    assert access.owner(user(), of_no_team()) is None
    assert access.owner(user(), of_project("not-assigned")) is None
    assert access.owner(user(), Target(CONTAINER)) is None


def test_a_project_s_owner_depends_on_the_engine_s_assignments_the_actor_carries():
    elsewhere = Actor(name="someone", active=True, roles={HOME: "admin"}, projects={})
    assert access.owner(elsewhere, of_project(HOME_PROJECT)) is None
    assert what_may(elsewhere, of_project(HOME_PROJECT)) == set()


def test_an_explicit_team_decides_what_may_be_made_for_it():
    new_for_home = Target(CONTAINER, team=HOME)
    assert access.allowed(user((HOME, "admin")), ADMINISTER, new_for_home) is True
    assert access.allowed(user((HOME, "operator")), ADMINISTER, new_for_home) is False
    assert access.allowed(user((OTHER, "admin")), ADMINISTER, new_for_home) is False


# --- Labels only Berth sets ----------------------------------------------------------------


def test_every_berth_label_is_reserved_whatever_its_case():
    keys = ["berth.team", "Berth.Team", "BERTH.anything", "berth.", "com.example", "berthx", "a"]
    assert access.reserved_labels(keys) == ["berth.team", "Berth.Team", "BERTH.anything", "berth."]


def test_no_label_is_reserved_in_an_empty_list():
    assert access.reserved_labels([]) == []


# --- Team choices, the actor's fingerprint, the audit scope ---------------------------------


def test_the_teams_for_an_action_are_those_where_the_role_suffices():
    both = user((HOME, "admin"), (OTHER, "viewer"))
    assert access.teams_for(both, ADMINISTER) == [HOME]
    assert access.teams_for(both, OPERATE) == [HOME]
    assert access.teams_for(both, VIEW) == [OTHER, HOME]


def test_screens_nobody_and_unknown_actions_have_no_teams():
    assert access.teams_for(screen(HOME), VIEW) == []
    assert access.teams_for(access.NOBODY, VIEW) == []
    assert access.teams_for(user((HOME, "admin")), "delete") == []


def test_actors_with_the_same_rights_share_a_key_and_others_do_not():
    one = Actor(name="ann", user_id=1, active=True, roles={HOME: "viewer"}, projects=ASSIGNED)
    two = Actor(name="bob", user_id=2, active=True, roles={HOME: "viewer"}, projects=ASSIGNED)
    assert one.key() == two.key()
    hash(one.key())
    assert user((HOME, "operator")).key() != user((HOME, "viewer")).key()
    assert user((HOME, "viewer")).key() != user((OTHER, "viewer")).key()
    assert user(superuser=True).key() != user().key()
    assert screen(HOME).key() != screen(HOME, logs=True).key()
    assert screen(HOME).key() != user((HOME, "viewer")).key()


def test_the_audit_trail_is_a_superuser_s_whole_and_a_team_admin_s_for_their_teams():
    assert access.audit_scope(user(superuser=True)) == access.AUDIT_ALL
    assert access.audit_scope(user((HOME, "admin"), (OTHER, "viewer"))) == frozenset({HOME})
    assert access.audit_scope(user((HOME, "operator"))) is None
    assert access.audit_scope(screen(None)) is None
    assert access.audit_scope(access.NOBODY) is None


# --- What a user made for themselves (jobs, registry logins) --------------------------------


def person(
    *, authenticated: bool = True, active: bool = True, staff: bool = False, superuser=False, pk=3
):
    return SimpleNamespace(
        is_authenticated=authenticated,
        is_active=active,
        is_staff=staff,
        is_superuser=superuser,
        pk=pk,
    )


def test_a_user_owns_what_they_made_and_a_superuser_owns_everything():
    assert access.owns(person(pk=3), 3) is True
    assert access.owns(person(pk=3), 4) is False
    assert access.owns(person(superuser=True), 4) is True
    assert access.owns(person(active=False, pk=3), 3) is False
    assert access.owns(AnonymousUser(), None) is False


def test_only_an_active_superuser_administers_the_host():
    assert access.administers_host(person(superuser=True)) is True
    assert access.administers_host(person(staff=True)) is False
    assert access.administers_host(person(active=False, superuser=True)) is False
    assert access.administers_host(AnonymousUser()) is False


# --- The actor of a real account ------------------------------------------------------------


@pytest.mark.django_db
def test_a_real_account_s_actor_carries_its_roles_and_its_engine_s_projects():
    from django.contrib.auth import get_user_model

    from containers_app import actors
    from containers_app.engine import Engine
    from containers_app.models import Membership, ProjectAssignment, Team

    here = Engine(slug="local", base_url="unix:///tmp/berth-unit-here.sock", every_team=True)
    there = Engine(slug="other", base_url="unix:///tmp/berth-unit-there.sock", every_team=True)
    web = Team.objects.create(slug=HOME, name="Web")
    api = Team.objects.create(slug=OTHER, name="API")
    ProjectAssignment.objects.create(engine=here.slug, project="shop", team=web)
    ProjectAssignment.objects.create(engine=there.slug, project="billing", team=api)
    ann = get_user_model().objects.create_user(username="ann", password="x")
    Membership.objects.create(user=ann, team=web, role="operator")
    retired = get_user_model().objects.create_user(username="old", password="x", is_active=False)
    Membership.objects.create(user=retired, team=web, role="admin")

    actor = actors.of_user(ann, here)

    assert (actor.name, actor.user_id, actor.active) == ("ann", ann.pk, True)
    assert actor.superuser is False
    assert dict(actor.roles) == {HOME: "operator"}
    assert dict(actor.projects) == {"shop": HOME}
    assert what_may(actor, of_project("shop")) == MAY["operator"]
    assert what_may(actor, of_project("billing")) == set()
    assert actors.of_user(retired, here) is access.NOBODY
    assert actors.of_user(AnonymousUser(), here) is access.NOBODY


# --- Teams: who may create teams and manage their members ------------------------------------


@pytest.mark.parametrize(
    ("role", "needed", "expected"),
    [
        ("viewer", "viewer", True),
        ("viewer", "operator", False),
        ("viewer", "admin", False),
        ("operator", "viewer", True),
        ("operator", "operator", True),
        ("operator", "admin", False),
        ("admin", "viewer", True),
        ("admin", "operator", True),
        ("admin", "admin", True),
        (None, "viewer", False),
        ("owner", "viewer", False),
        ("", "viewer", False),
    ],
)
def test_roles_are_ordered_viewer_then_operator_then_admin(role, needed, expected):
    assert access.role_at_least(role, needed) is expected


def test_the_roles_are_those_a_membership_holds():
    from containers_app.models import Membership

    assert tuple(value for value, _ in Membership.ROLES) == access.ROLES


def test_asking_for_an_unknown_role_is_a_mistake_in_the_code():
    with pytest.raises(ValueError, match="Unknown role"):
        access.role_at_least("admin", "owner")


def test_only_an_active_superuser_may_create_a_team():
    assert access.may_create_team(person(superuser=True)) is True
    assert access.may_create_team(person(staff=True)) is False
    assert access.may_create_team(person()) is False
    assert access.may_create_team(person(active=False, superuser=True)) is False
    assert access.may_create_team(AnonymousUser()) is False


@pytest.mark.parametrize(
    ("role", "expected"), [("admin", True), ("operator", False), ("viewer", False), (None, False)]
)
def test_a_team_s_admins_may_manage_its_members_and_no_other_member(role, expected):
    assert access.may_manage_team(person(), role) is expected
    # Being staff gives no rights over a team's members: only the role in it does.
    assert access.may_manage_team(person(staff=True), role) is expected


def test_a_superuser_may_manage_any_team_member_or_not():
    assert access.may_manage_team(person(superuser=True), None) is True


def test_an_inactive_admin_of_a_team_may_not_manage_it():
    assert access.may_manage_team(person(active=False), "admin") is False
    assert access.may_manage_team(AnonymousUser(), "admin") is False


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
def test_every_member_of_a_team_may_see_it(role):
    assert access.may_see_team(person(), role) is True


def test_a_team_is_hidden_from_those_outside_it_but_superusers():
    assert access.may_see_team(person(), None) is False
    assert access.may_see_team(person(staff=True), None) is False
    assert access.may_see_team(person(superuser=True), None) is True
    assert access.may_see_team(person(active=False), "admin") is False


@pytest.mark.parametrize(
    ("role", "new_role", "admins", "expected"),
    [
        ("admin", "operator", 1, True),
        ("admin", "viewer", 1, True),
        ("admin", None, 1, True),
        ("admin", "operator", 2, False),
        ("admin", None, 2, False),
        ("admin", "admin", 1, False),
        ("operator", None, 1, False),
        ("viewer", "admin", 0, False),
        (None, "viewer", 0, False),
    ],
)
def test_demoting_or_removing_the_only_admin_leaves_a_team_without_one(
    role, new_role, admins, expected
):
    assert access.leaves_team_without_admin(role=role, new_role=new_role, admins=admins) is (
        expected
    )


def test_only_a_superuser_may_leave_a_team_without_admins():
    assert access.may_leave_team_without_admin(person(superuser=True)) is True
    assert access.may_leave_team_without_admin(person(staff=True)) is False
    assert access.may_leave_team_without_admin(person()) is False
