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
