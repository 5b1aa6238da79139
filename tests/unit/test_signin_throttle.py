"""Sign-in throttling: too many failures for one username or from one address lock it out."""

from io import StringIO

import pytest
from asgiref.sync import sync_to_async
from axes.models import AccessAttempt
from django.contrib.auth import BACKEND_SESSION_KEY, SESSION_KEY, get_user_model
from django.core.management import call_command
from django.test import Client

from containers_app.consumers.auth import user_for_session

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
LIMIT = 10
REFUSAL = "Too many failed sign-ins for this account or address."
WAY_OUT = "Try again in 15 minutes, or ask an administrator to unlock it."


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user(
        username="alice", password="alice-right-1", is_staff=True
    )


@pytest.fixture
def bob(db):
    return get_user_model().objects.create_user(username="bob", password="bob-right-2")


def sign_in(client: Client, username: str, password: str, *, url: str = LOGIN, address: str = ""):
    extra = {"REMOTE_ADDR": address} if address else {}
    return client.post(url, {"username": username, "password": password}, **extra)


def fail(client: Client, username: str, times: int, **where) -> list[int]:
    return [sign_in(client, username, "wrong", **where).status_code for _ in range(times)]


def signed_in_as(client: Client):
    return client.session.get(SESSION_KEY)


def test_ten_wrong_passwords_lock_the_account_and_the_right_one_is_then_refused(client, alice):
    assert fail(client, "alice", LIMIT - 1) == [200] * (LIMIT - 1)
    assert fail(client, "alice", 1) == [429]
    refused = sign_in(client, "alice", "alice-right-1")
    assert refused.status_code == 429
    page = refused.content.decode()
    assert REFUSAL in page and WAY_OUT in page
    # The site's own page, not a bare line of text.
    assert "<title>Too many failed sign-ins · Berth</title>" in page
    assert refused["Retry-After"] == "900"
    assert signed_in_as(client) is None


def test_the_admins_sign_in_locks_the_same_way(client, alice):
    assert fail(client, "alice", LIMIT, url=ADMIN_LOGIN)[-1] == 429
    refused = sign_in(client, "alice", "alice-right-1", url=ADMIN_LOGIN)
    assert refused.status_code == 429
    assert REFUSAL in refused.content.decode()
    assert signed_in_as(client) is None
    # Failures at either door count together.
    assert sign_in(client, "alice", "alice-right-1").status_code == 429


def test_a_locked_address_refuses_every_username_but_other_addresses_sign_in(client, alice, bob):
    fail(client, "alice", LIMIT, address="10.0.0.1")
    assert sign_in(client, "bob", "bob-right-2", address="10.0.0.1").status_code == 429
    assert signed_in_as(client) is None
    assert sign_in(client, "bob", "bob-right-2", address="10.0.0.2").status_code == 302
    assert signed_in_as(client) == str(bob.pk)


def test_a_locked_username_is_refused_from_every_address_but_other_usernames_sign_in(
    client, alice, bob
):
    for n in range(LIMIT):
        fail(client, "alice", 1, address=f"10.0.1.{n}")
    assert sign_in(client, "alice", "alice-right-1", address="10.0.2.1").status_code == 429
    assert sign_in(client, "bob", "bob-right-2", address="10.0.1.0").status_code == 302
    assert signed_in_as(client) == str(bob.pk)


def test_below_the_limit_the_right_password_signs_in_as_before(client, alice):
    fail(client, "alice", LIMIT - 1)
    response = sign_in(client, "alice", "alice-right-1")
    assert response.status_code == 302
    assert response["Location"] == "/containers/"
    assert signed_in_as(client) == str(alice.pk)
    # The session names ModelBackend, which the websockets' session check accepts.
    assert client.session[BACKEND_SESSION_KEY] == "django.contrib.auth.backends.ModelBackend"
    assert user_for_session(client.session.session_key) == alice


def test_a_superuser_unlocks_a_username_with_axes_reset_username(client, alice):
    fail(client, "alice", LIMIT)
    assert sign_in(client, "alice", "alice-right-1").status_code == 429
    call_command("axes_reset_username", "alice", stdout=StringIO())
    assert sign_in(client, "alice", "alice-right-1").status_code == 302
    assert signed_in_as(client) == str(alice.pk)


def test_a_superuser_unlocks_in_the_admin_by_deleting_the_access_attempt(client, alice):
    fail(client, "alice", LIMIT)
    superuser = get_user_model().objects.create_superuser(username="root", password="unused")
    admin = Client()
    admin.force_login(superuser)
    listing = admin.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200
    assert "Locked Out" in listing.content.decode()
    attempt = AccessAttempt.objects.get(username="alice")
    deleted = admin.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert sign_in(client, "alice", "alice-right-1").status_code == 302


def test_failures_and_the_lock_out_are_logged_with_username_and_address(client, alice, caplog):
    fail(client, "alice", LIMIT, address="10.0.0.9")
    warnings = [r.getMessage() for r in caplog.records if r.name.startswith("axes")]
    failures = [m for m in warnings if "login failure by" in m]
    assert len(failures) == LIMIT
    assert any("Locking out" in m and "alice" in m and "10.0.0.9" in m for m in warnings)
    assert all("wrong" not in m for m in warnings)


@pytest.mark.django_db(transaction=True)
async def test_under_asgi_as_daphne_serves_it_the_refusal_is_the_same_page(async_client):
    await sync_to_async(get_user_model().objects.create_user)(username="carol", password="c-1")
    for _ in range(LIMIT):
        await async_client.post(LOGIN, {"username": "carol", "password": "wrong"})
    refused = await async_client.post(LOGIN, {"username": "carol", "password": "c-1"})
    assert refused.status_code == 429
    assert WAY_OUT in refused.content.decode()
