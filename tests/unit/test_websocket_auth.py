"""Who a websocket belongs to: the session cookie of its handshake, read and never changed."""

import asyncio
import time
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from containers_app.consumers import auth
from containers_app.consumers.auth import (
    SessionAuthMiddleware,
    session_key,
    user_for,
    user_for_session,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice():
    return get_user_model().objects.create_user("alice", password="first-password-1")


def signed_in(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def scope_with(*cookies: str) -> dict:
    return {"type": "websocket", "headers": [(b"cookie", c.encode()) for c in cookies]}


async def user_through_middleware(scope: dict):
    seen = {}

    async def inner(scope, receive, send):
        seen["user"] = scope["user"]

    await SessionAuthMiddleware(inner)(scope, None, None)
    return seen["user"]


def test_the_session_cookie_is_found_among_other_cookies():
    scope = scope_with("theme=dark; sessionid=abc123", "other=1")

    assert session_key(scope) == "abc123"


def test_a_handshake_without_cookies_has_no_session():
    assert session_key({"type": "websocket", "headers": [(b"origin", b"http://x")]}) == ""


def test_a_signed_in_session_gives_its_user(alice):
    assert user_for_session(signed_in(alice)) == alice


async def test_the_middleware_puts_the_user_in_the_scope(alice):
    key = await sync_to_async(signed_in)(alice)

    user = await user_through_middleware(scope_with(f"sessionid={key}"))

    assert user.is_authenticated and user.username == "alice"


async def test_the_middleware_leaves_a_stranger_anonymous():
    user = await user_through_middleware(scope_with("sessionid=made-up"))

    assert not user.is_authenticated


def test_no_session_or_an_unknown_one_is_anonymous():
    assert not user_for_session("").is_authenticated
    assert not user_for_session("x" * 32).is_authenticated


def test_an_expired_session_is_anonymous(alice):
    key = signed_in(alice)
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(1))

    assert not user_for_session(key).is_authenticated


def test_a_deactivated_user_is_anonymous(alice):
    key = signed_in(alice)
    alice.is_active = False
    alice.save()

    assert not user_for_session(key).is_authenticated


def test_a_password_change_signs_old_sessions_out_without_deleting_them(alice):
    key = signed_in(alice)
    alice.set_password("second-password-2")
    alice.save()

    assert not user_for_session(key).is_authenticated
    # A websocket only reads: the browser's session is the HTTP side's to end.
    assert Session.objects.filter(session_key=key).exists()


def test_a_session_from_a_removed_backend_is_anonymous(alice, settings):
    key = signed_in(alice)
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.RemoteUserBackend"]

    assert not user_for_session(key).is_authenticated


async def test_websockets_opened_at_once_with_one_session_share_one_lookup(alice, monkeypatch):
    key = await sync_to_async(signed_in)(alice)
    calls = []

    def slow_lookup(session):
        calls.append(session)
        time.sleep(0.2)  # still running when the others arrive
        return user_for_session(session)

    monkeypatch.setattr(auth, "_lookup", slow_lookup)

    users = await asyncio.gather(*(user_for(key) for _ in range(5)))

    assert calls == [key]
    assert all(user == alice for user in users)
    # Nothing is kept: the next one looks again.
    await user_for(key)
    assert calls == [key, key]


async def test_a_websocket_that_leaves_does_not_cancel_the_lookup_others_wait_for(alice):
    key = await sync_to_async(signed_in)(alice)
    first = asyncio.ensure_future(user_for(key))
    second = asyncio.ensure_future(user_for(key))
    await asyncio.sleep(0)

    first.cancel()

    assert (await second) == alice
