"""containers_app/compat.py against the Django, Channels and daphne installed: each test fails
when an upgrade takes away or changes what compat relies on."""

import inspect
import io
import sys
from functools import partial

import channels.consumer
import channels.exceptions
import django.contrib.auth
import pytest
from daphne import cli
from daphne.access import AccessLogGenerator
from daphne.http_protocol import WebRequest
from daphne.server import Server
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.sessions.backends.db import SessionStore
from django.core import checks
from django.http import HttpRequest

from containers_app import compat
from dashboard import serve

# ---- The versions it was written for.


def test_it_was_written_for_the_django_channels_and_daphne_installed():
    for name, written in compat.WRITTEN_FOR.items():
        installed = compat.installed_version(name)
        assert installed is not None, name
        assert installed.split(".")[:2] == written.split("."), (name, installed, written)
    assert compat.check_versions() == []


def test_it_reports_an_error_naming_the_version_installed_when_it_differs(monkeypatch):
    real = compat.installed_version
    monkeypatch.setattr(
        compat, "installed_version", lambda name: "4.4.0" if name == "channels" else real(name)
    )

    [error] = compat.check_versions()

    assert isinstance(error, checks.Error)
    assert error.id == "containers_app.E001"
    assert "written for channels 4.3" in error.msg
    assert "channels 4.4.0 is installed" in error.msg
    assert error.hint == (
        "compat.py was written for channels 4.3; review it against channels 4.4.0 before "
        "upgrading, then update WRITTEN_FOR."
    )


def test_it_reports_an_error_when_one_is_not_installed(monkeypatch):
    real = compat.installed_version
    monkeypatch.setattr(
        compat, "installed_version", lambda name: None if name == "daphne" else real(name)
    )

    [error] = compat.check_versions()

    assert "daphne is not installed" in error.msg


def test_it_passes_a_patch_release_of_the_same_minor_version(monkeypatch):
    monkeypatch.setattr(compat, "installed_version", lambda name: f"{compat.WRITTEN_FOR[name]}.999")

    assert compat.check_versions() == []


def test_its_check_runs_with_djangos_system_checks(monkeypatch):
    monkeypatch.setattr(compat, "installed_version", lambda name: "0.1")

    errors = [e for e in checks.run_checks() if e.id == "containers_app.E001"]

    assert len(errors) == len(compat.WRITTEN_FOR)


def test_it_keeps_daphne_from_starting_under_other_versions(monkeypatch):
    monkeypatch.setattr(compat, "installed_version", lambda name: "9.9")
    started = []
    monkeypatch.setattr(compat, "run_daphne", started.append)

    with pytest.raises(SystemExit) as stopped:
        serve.main()

    assert started == []
    assert "compat.py was written for Django 5.2" in str(stopped.value.code)
    assert "update WRITTEN_FOR" in str(stopped.value.code)


def test_it_lets_daphne_start_under_the_versions_it_was_written_for(monkeypatch):
    started = []
    monkeypatch.setattr(compat, "run_daphne", started.append)

    serve.main()

    assert started == [serve.RedactedAccessLog]


# ---- Channels: the dispatch loop.


def test_it_finds_the_handler_name_function_and_stop_consumer_in_channels():
    assert compat.get_handler_name is channels.consumer.get_handler_name
    assert compat.StopConsumer is channels.exceptions.StopConsumer
    assert channels.consumer.get_handler_name({"type": "websocket.receive"}) == (
        "websocket_receive"
    )


def test_it_still_sends_through_the_attribute_channels_consumers_send_with():
    # DirectDispatch sets what AsyncConsumer.__call__ sets; AsyncConsumer.send uses base_send.
    assert "self.base_send(" in inspect.getsource(channels.consumer.AsyncConsumer.send)
    source = inspect.getsource(channels.consumer.AsyncConsumer.__call__)
    for name in ("self.scope", "self.channel_layer", "self.base_send", "StopConsumer"):
        assert name in source, name


async def test_it_runs_a_websocket_consumer_to_its_end_without_a_channel_layer():
    handled = []

    class Echo(compat.DirectDispatch):
        async def connect(self):
            await self.accept()

        async def receive(self, text_data=None, bytes_data=None):
            handled.append(text_data)
            await self.send(text_data=text_data.upper())

        async def websocket_disconnect(self, message):
            # As consumers.base.Consumer does: channels' own also closes old connections.
            handled.append(message["code"])
            raise compat.StopConsumer

    incoming = iter(
        [
            {"type": "websocket.connect"},
            {"type": "websocket.receive", "text": "hello"},
            {"type": "websocket.disconnect", "code": 1000},
        ]
    )
    sent = []

    async def receive():
        return next(incoming)

    async def send(message):
        sent.append(message)

    await Echo()({"type": "websocket", "path": "/ws/"}, receive, send)

    assert handled == ["hello", 1000]
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.send"]
    assert sent[1]["text"] == "HELLO"


async def test_it_refuses_a_message_without_a_handler():
    class Nothing(compat.DirectDispatch):
        pass

    with pytest.raises(ValueError, match=r"No handler for message type websocket\.unknown"):
        await Nothing().dispatch({"type": "websocket.unknown"})


# ---- Django: the session check.


def test_it_finds_the_session_names_and_hash_helpers_in_django():
    for name in ("SESSION_KEY", "BACKEND_SESSION_KEY", "HASH_SESSION_KEY", "load_backend"):
        assert hasattr(django.contrib.auth, name), name
    assert callable(AbstractBaseUser.get_session_auth_hash)
    assert callable(AbstractBaseUser.get_session_auth_fallback_hash)
    # The check copied from get_user: it still verifies the session hash the same way.
    source = inspect.getsource(django.contrib.auth.get_user)
    for name in ("HASH_SESSION_KEY", "get_session_auth_hash", "get_session_auth_fallback_hash"):
        assert name in source, name


@pytest.fixture
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def signed_in_session(user) -> SessionStore:
    """A session as django.contrib.auth.login writes it."""
    session = SessionStore()
    session[django.contrib.auth.SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[django.contrib.auth.BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[django.contrib.auth.HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return SessionStore(session.session_key)


def djangos_own_user(session_key: str):
    request = HttpRequest()
    request.session = SessionStore(session_key)
    return django.contrib.auth.get_user(request)


def test_it_accepts_a_session_signed_in_as_django_does(db, fast_hashing):
    alice = get_user_model().objects.create_user("alice", password="first-password-1")
    session = signed_in_session(alice)

    assert compat.session_user(session) == alice
    assert djangos_own_user(session.session_key) == alice


def test_it_refuses_a_session_whose_password_changed_since(db, fast_hashing):
    alice = get_user_model().objects.create_user("alice", password="first-password-1")
    session = signed_in_session(alice)
    alice.set_password("second-password-2")
    alice.save()

    assert not compat.session_user(SessionStore(session.session_key)).is_authenticated
    assert not djangos_own_user(session.session_key).is_authenticated


def test_it_accepts_a_session_signed_under_a_retired_secret_key(db, fast_hashing, settings):
    alice = get_user_model().objects.create_user("alice", password="first-password-1")
    settings.SECRET_KEY = "an-old-secret-key-" + "x" * 40
    session = signed_in_session(alice)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "the-new-secret-key-" + "y" * 40

    assert compat.session_user(SessionStore(session.session_key)) == alice


def test_it_refuses_a_session_without_its_hash_and_leaves_it_as_it_was(db, fast_hashing):
    alice = get_user_model().objects.create_user("alice", password="first-password-1")
    session = signed_in_session(alice)
    del session[django.contrib.auth.HASH_SESSION_KEY]
    session.save()

    assert not compat.session_user(SessionStore(session.session_key)).is_authenticated
    assert SessionStore(session.session_key).get(django.contrib.auth.SESSION_KEY) is not None


# ---- daphne: the protocol behind `send`.


async def test_it_finds_daphnes_request_behind_the_send_daphne_makes():
    given = {}

    async def application(scope, receive, send):
        given["send"] = send

    server = Server(application, endpoints=["tcp:port=0:interface=127.0.0.1"])
    request = WebRequest.__new__(WebRequest)  # a request without a connection behind it
    server.connections = {request: {}}
    server.create_application(request, {"type": "http"})
    await server.connections[request]["application_instance"]

    assert isinstance(given["send"], partial)
    assert compat.daphne_request(given["send"]) is request


def test_it_finds_no_request_behind_another_servers_send():
    async def send(message):
        pass

    assert compat.daphne_request(send) is None
    assert compat.daphne_request(partial(send)) is None
    assert compat.daphne_request(partial(send, object())) is None


# ---- daphne: the access log.


def test_it_finds_daphnes_access_log_class_and_entrypoint():
    assert cli.AccessLogGenerator is AccessLogGenerator
    assert callable(cli.CommandLineInterface.entrypoint)
    # run() builds the logger from the name in daphne.cli's module, which run_daphne replaces.
    assert "AccessLogGenerator(access_log_stream)" in inspect.getsource(
        cli.CommandLineInterface.run
    )
    assert list(inspect.signature(AccessLogGenerator.__call__).parameters) == [
        "self",
        "protocol",
        "action",
        "details",
    ]


def test_it_runs_daphnes_command_line_with_the_access_log_given(monkeypatch):
    monkeypatch.setattr(cli, "AccessLogGenerator", cli.AccessLogGenerator)
    seen = []
    monkeypatch.setattr(
        cli.CommandLineInterface,
        "entrypoint",
        classmethod(lambda cls: seen.append(cli.AccessLogGenerator)),
    )

    compat.run_daphne(serve.RedactedAccessLog)

    assert seen == [serve.RedactedAccessLog]


def test_it_logs_the_path_as_rewritten():
    class Upper(compat.PathRewritingAccessLog):
        rewrite_path = staticmethod(str.upper)

    stream = io.StringIO()
    Upper(stream)(
        "http",
        "complete",
        {
            "path": "/quiet/",
            "status": 200,
            "method": "GET",
            "client": "127.0.0.1:5000",
            "time_taken": 0.01,
            "size": 0,
        },
    )

    assert '"GET /QUIET/" 200' in stream.getvalue()


# ---- The switch interval.


def test_it_shortened_the_switch_interval_when_the_app_was_ready():
    assert sys.getswitchinterval() <= compat.SWITCH_SECONDS


def test_it_never_lengthens_a_shorter_switch_interval():
    before = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)
        compat.set_switch_interval()
        assert sys.getswitchinterval() == pytest.approx(compat.SWITCH_SECONDS)
        sys.setswitchinterval(0.0005)
        compat.set_switch_interval()
        assert sys.getswitchinterval() == pytest.approx(0.0005)
    finally:
        sys.setswitchinterval(before)
