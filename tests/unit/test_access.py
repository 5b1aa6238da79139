"""Who may look and who may change: signed-in users look, active staff change."""

from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from containers_app import access


def person(
    *, authenticated: bool = True, active: bool = True, staff: bool = False, superuser=False
):
    return SimpleNamespace(
        is_authenticated=authenticated, is_active=active, is_staff=staff, is_superuser=superuser
    )


@pytest.mark.parametrize("action", [access.VIEW, access.CHANGE])
def test_an_anonymous_visitor_may_do_nothing(action):
    assert access.allowed(AnonymousUser(), action) is False


@pytest.mark.parametrize("action", [access.VIEW, access.CHANGE])
def test_an_inactive_account_may_do_nothing(action):
    assert access.allowed(person(active=False), action) is False


@pytest.mark.parametrize("action", [access.VIEW, access.CHANGE])
def test_an_inactive_staff_account_may_do_nothing(action):
    assert access.allowed(person(active=False, staff=True), action) is False


def test_a_viewer_may_look():
    assert access.allowed(person(), access.VIEW) is True


def test_a_viewer_may_not_change_anything():
    assert access.allowed(person(), access.CHANGE) is False


def test_staff_may_look():
    assert access.allowed(person(staff=True), access.VIEW) is True


def test_staff_may_change_things():
    assert access.allowed(person(staff=True), access.CHANGE) is True


def test_an_unauthenticated_staff_flag_counts_for_nothing():
    assert access.allowed(person(authenticated=False, staff=True), access.CHANGE) is False


def test_staff_may_see_secret_values_and_a_viewer_may_not():
    assert access.allowed(person(staff=True), access.SEE_SECRETS) is True
    assert access.allowed(person(), access.SEE_SECRETS) is False
    assert access.allowed(person(active=False, staff=True), access.SEE_SECRETS) is False


def test_only_a_staff_superuser_may_create_a_volume_that_reaches_the_host():
    assert access.allowed(person(staff=True, superuser=True), access.ANY_VOLUME) is True
    assert access.allowed(person(staff=True), access.ANY_VOLUME) is False
    assert access.allowed(person(superuser=True), access.ANY_VOLUME) is False
    assert access.allowed(person(active=False, staff=True, superuser=True), access.ANY_VOLUME) is (
        False
    )
    assert access.allowed(AnonymousUser(), access.ANY_VOLUME) is False


@pytest.mark.parametrize("action", ["delete", "", "VIEW", "admin"])
def test_an_unknown_action_is_allowed_to_nobody(action):
    assert access.allowed(person(staff=True), action) is False


def test_real_user_accounts_follow_the_same_rules():
    users = get_user_model()
    viewer = users(username="viewer", is_active=True, is_staff=False)
    staff = users(username="staff", is_active=True, is_staff=True)
    retired = users(username="retired", is_active=False, is_staff=True)
    assert [access.allowed(u, access.VIEW) for u in (viewer, staff, retired)] == [True, True, False]
    assert [access.allowed(u, access.CHANGE) for u in (viewer, staff, retired)] == [
        False,
        True,
        False,
    ]


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
