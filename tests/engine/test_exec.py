"""`docker exec -it` in the browser: the terminal page and its websocket, against the engine."""

import asyncio
import html
import json
import re
import shlex
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core import signing
from django.test import Client

from containers_app import tickets
from containers_app.engine.raw import READ_SIZE
from containers_app.models import AuditEntry
from containers_app.streams.execs import UNACKED_BYTES
from dashboard.asgi import application
from tests.conftest import HOME_TEAM, STOPPABLE, unique
from tests.engine.sockets import connected, refused

# The terminal's consumer writes its audit entry from a thread of its own.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    """The signed-in users' passwords need no real hashing here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def running(make) -> dict:
    return make.container(command=STOPPABLE)


# --- helpers -------------------------------------------------------------------------------


def text(response) -> str:
    return html.unescape(response.content.decode())


def page_ticket(response) -> str:
    found = re.search(r'data-ticket="([^"]*)"', response.content.decode())
    assert found, "the page carries no ticket"
    return html.unescape(found.group(1))


def suggestions(response) -> list[str]:
    found = re.search(r'<datalist id="exec-suggestions">(.*?)</datalist>', text(response), re.S)
    assert found, "the page offers no commands"
    return re.findall(r'<option value="([^"]*)">', found.group(1))


def exec_path(container_id: str, ticket: str, **size: str) -> str:
    query = {"ticket": ticket, "cols": "80", "rows": "24", **size}
    return f"/ws/containers/{container_id}/exec/?{urlencode(query)}"


def ticket_for(person, container_id: str, cmd: str = "sh", user: str = "", workdir: str = ""):
    """A ticket as the terminal form's POST issues it."""
    return tickets.issue(
        user_id=person.pk,
        container_id=container_id,
        command=shlex.split(cmd),
        user=user,
        workdir=workdir,
    )


def old_ticket(monkeypatch, person, container_id: str, *, age: float) -> str:
    """A ticket as if the page had issued it `age` seconds ago."""
    now = time.time()
    with monkeypatch.context() as patch:
        patch.setattr(signing.time, "time", lambda: now - age)
        return ticket_for(person, container_id)


class Terminal:
    """A terminal websocket: what came out of it as bytes, and its text messages."""

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.communicator = communicator
        self.output = b""
        self.messages: list[dict] = []
        self.close_code: int | None = None

    @classmethod
    async def open(cls, person, container_id: str, *, cols="80", rows="24", **asked: str):
        ticket = ticket_for(person, container_id, **asked)
        return cls(await connected(exec_path(container_id, ticket, cols=cols, rows=rows), person))

    async def type(self, data: bytes) -> None:
        await self.communicator.send_to(bytes_data=data)

    async def read_until(self, wanted: Callable[["Terminal"], bool], *, timeout=15) -> None:
        deadline = time.monotonic() + timeout
        while not wanted(self):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"not seen within {timeout} s: {self.output!r} {self.messages}"
            message = await self.communicator.receive_output(timeout=remaining)
            if message["type"] == "websocket.close":
                self.close_code = message.get("code", 1000)
                assert wanted(self), f"closed first: {self.output!r} {self.messages}"
                return
            if message.get("bytes") is not None:
                self.output += message["bytes"]
            else:
                self.messages.append(json.loads(message["text"]))

    async def ask(self, expression: str, *, timeout: float = 15) -> str:
        """Types `echo "out:<expression>:end"` and returns what the shell made of it. The
        terminal echoes the typed line too; that copy still holds the `$`, so it never
        matches."""
        start = len(self.output)
        await self.type(f'echo "out:{expression}:end"\n'.encode())
        pattern = re.compile(r"out:([^:$]*):end")

        def answered(terminal: Terminal) -> bool:
            return pattern.search(terminal.output[start:].decode("utf-8", "replace")) is not None

        await self.read_until(answered, timeout=timeout)
        return pattern.search(self.output[start:].decode("utf-8", "replace")).group(1)

    async def close(self) -> None:
        await self.communicator.disconnect()


async def eventually_async(condition: Callable[[], Awaitable[bool]], *, timeout=15) -> None:
    """Polls an async condition until it holds."""
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, f"condition not met within {timeout} s"
        await asyncio.sleep(0.1)


async def in_thread(function, *args, **kwargs):
    """A blocking docker_api call, off the test's event loop."""
    return await asyncio.to_thread(function, *args, **kwargs)


# --- the page ------------------------------------------------------------------------------


def test_a_get_of_the_exec_page_shows_the_form_and_runs_nothing(admin_client, running, docker_api):
    response = admin_client.get(
        f"/containers/{running['Id']}/exec/", {"cmd": "touch /tmp/pwned", "user": "root"}
    )

    assert response.status_code == 200
    assert 'method="post"' in text(response)
    assert "data-ticket" not in text(response)
    assert "touch /tmp/pwned" not in text(response)
    # Not even the probe for bash ran: the engine knows of no exec in the container.
    assert not docker_api.inspect_container(running["Id"])["ExecIDs"]


def test_opening_posts_the_form_and_the_answer_holds_a_ticket_for_exactly_that(
    admin_client, admin_user, running
):
    response = admin_client.post(f"/containers/{running['Id']}/exec/", {"cmd": ""})

    assert response.status_code == 200
    name = running["Name"].lstrip("/")
    assert f"docker exec -it {name} sh" in text(response)
    assert f'data-socket="/ws/containers/{running["Id"]}/exec/"' in text(response)
    grant = tickets.grant(page_ticket(response), user_id=admin_user.pk, container_id=running["Id"])
    assert (grant.command, grant.user, grant.workdir) == (("sh",), "", "")


def test_the_terminal_form_shows_the_user_and_working_directory_in_the_command(
    admin_client, admin_user, running
):
    response = admin_client.post(
        f"/containers/{running['Id']}/exec/", {"user": "nobody", "workdir": "/tmp", "cmd": "ls -l"}
    )

    name = running["Name"].lstrip("/")
    assert f"docker exec -it -u nobody -w /tmp {name} ls -l" in text(response)
    grant = tickets.grant(page_ticket(response), user_id=admin_user.pk, container_id=running["Id"])
    assert (grant.command, grant.user, grant.workdir) == (("ls", "-l"), "nobody", "/tmp")


def test_a_terminal_form_posted_without_the_csrf_token_is_refused(admin_user, running):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)

    response = browser.post(f"/containers/{running['Id']}/exec/", {"cmd": "sh"})

    assert response.status_code == 403
    assert "data-ticket" not in text(response)


def test_a_command_that_cannot_be_split_is_a_bad_request(admin_client, running):
    response = admin_client.post(f"/containers/{running['Id']}/exec/", {"cmd": "echo 'open"})

    assert response.status_code == 400
    assert "cannot be split" in text(response)
    assert "data-ticket" not in text(response)


def test_a_viewer_may_not_open_the_exec_page(viewer_client, running):
    response = viewer_client.get(f"/containers/{running['Id']}/exec/")

    assert response.status_code == 403


def test_someone_signed_out_is_sent_to_sign_in_from_the_exec_page(running):
    response = Client().get(f"/containers/{running['Id']}/exec/")

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_exec_page_says_a_stopped_container_is_not_running(admin_client, make):
    stopped = make.container(command=STOPPABLE, state="exited")

    shown = admin_client.get(f"/containers/{stopped['Id']}/exec/")
    opened = admin_client.post(f"/containers/{stopped['Id']}/exec/", {"cmd": "sh"})

    assert shown.status_code == 200
    assert opened.status_code == 409
    for response in (shown, opened):
        assert "not running" in text(response)
        assert 'id="terminal"' not in text(response)


def test_an_empty_command_opens_sh_when_the_image_has_no_bash(admin_client, admin_user, running):
    response = admin_client.post(f"/containers/{running['Id']}/exec/", {"cmd": ""})

    grant = tickets.grant(page_ticket(response), user_id=admin_user.pk, container_id=running["Id"])
    assert grant.command == ("sh",)


def test_an_empty_command_opens_bash_when_the_image_has_it(admin_client, admin_user, make):
    image = make.image(f"{unique('img')}:latest", dockerfile_line="RUN ln -s /bin/sh /bin/bash")
    container = make.container(command=STOPPABLE, image=image)

    response = admin_client.post(f"/containers/{container['Id']}/exec/", {"cmd": ""})

    grant = tickets.grant(
        page_ticket(response), user_id=admin_user.pk, container_id=container["Id"]
    )
    assert grant.command == ("bash",)


def test_the_exec_page_of_an_unknown_container_is_not_found(admin_client):
    response = admin_client.get(f"/containers/{unique('missing')}/exec/")

    assert response.status_code == 404


# --- the terminal --------------------------------------------------------------------------


async def test_typed_input_runs_in_the_container_and_its_output_comes_back(admin_user, running):
    terminal = await Terminal.open(admin_user, running["Id"])

    await terminal.type(b"echo hi-$((6*7))\n")
    await terminal.read_until(lambda t: b"hi-42" in t.output)

    await terminal.close()


async def test_the_terminal_starts_at_the_size_asked_for_and_follows_resizes(admin_user, running):
    terminal = await Terminal.open(admin_user, running["Id"], cols="80", rows="24")
    assert await terminal.ask("$(stty size)") == "24 80"

    await terminal.communicator.send_to(text_data=json.dumps({"resize": [100, 30]}))

    assert await terminal.ask("$(stty size)") == "30 100"
    await terminal.close()


async def test_the_terminal_runs_as_the_user_asked_for(admin_user, running):
    terminal = await Terminal.open(admin_user, running["Id"], user="nobody")

    assert await terminal.ask("$(id -u)") == "65534"
    await terminal.close()


async def test_the_terminal_starts_in_the_working_directory_asked_for(admin_user, running):
    terminal = await Terminal.open(admin_user, running["Id"], workdir="/tmp")

    assert await terminal.ask("$(pwd)") == "/tmp"
    await terminal.close()


async def test_the_terminal_reports_the_exit_code_and_closes_when_the_shell_exits(
    admin_user, running
):
    terminal = await Terminal.open(admin_user, running["Id"])
    assert await terminal.ask("$((1+1))") == "2"

    await terminal.type(b"exit 3\n")
    await terminal.read_until(lambda t: t.close_code is not None)

    assert {"exit": 3} in terminal.messages
    await terminal.close()


async def test_the_command_asked_for_runs_instead_of_a_shell(admin_user, running):
    terminal = await Terminal.open(
        admin_user, running["Id"], cmd="sh -c 'echo one-$((2*3)); exit 5'"
    )

    await terminal.read_until(lambda t: t.close_code is not None)

    assert b"one-6" in terminal.output
    assert {"exit": 5} in terminal.messages


async def test_output_bytes_arrive_unchanged_even_when_they_are_not_text(admin_user, running):
    terminal = await Terminal.open(admin_user, running["Id"])

    await terminal.type(b"printf 'A\\000\\377\\001B'\n")
    await terminal.read_until(lambda t: b"A\x00\xff\x01B" in t.output)

    await terminal.close()


async def processes(docker_api, container_id: str) -> list[str]:
    """`ps -o pid,args` in the container: one "<pid> <command line>" a process."""
    listing = await in_thread(docker_api.exec_create, container_id, ["ps", "-o", "pid,args"])
    output = (await in_thread(docker_api.exec_start, listing["Id"])).decode()
    return [line.strip() for line in output.splitlines()[1:]]


async def test_closing_the_websocket_ends_the_exec_process(admin_user, running, docker_api):
    terminal = await Terminal.open(admin_user, running["Id"])
    pid = await terminal.ask("$$")
    exec_ids = (await in_thread(docker_api.inspect_container, running["Id"]))["ExecIDs"]
    assert len(exec_ids) == 1
    assert (await in_thread(docker_api.exec_inspect, exec_ids[0]))["Running"]

    await terminal.close()

    async def exec_ended() -> bool:
        return not (await in_thread(docker_api.exec_inspect, exec_ids[0]))["Running"]

    await eventually_async(exec_ended)
    assert pid not in [line.split()[0] for line in await processes(docker_api, running["Id"])]


async def test_closing_the_websocket_ends_a_program_running_in_the_foreground_too(
    admin_user, running, docker_api
):
    terminal = await Terminal.open(admin_user, running["Id"], user="nobody")
    await terminal.type(b"sleep 4321\n")

    async def sleeping() -> bool:
        return any("sleep 4321" in line for line in await processes(docker_api, running["Id"]))

    await eventually_async(sleeping)

    await terminal.close()

    async def ended() -> bool:
        return not await sleeping()

    await eventually_async(ended)
    # The hang-up reaches only the terminal's processes, not the container's own.
    assert any("sleep 600" in line for line in await processes(docker_api, running["Id"]))
    assert (await in_thread(docker_api.inspect_container, running["Id"]))["State"]["Running"]


async def test_an_unacknowledged_flood_stops_being_read_after_about_a_mebibyte(admin_user, running):
    terminal = await Terminal.open(admin_user, running["Id"], cmd="yes flood")
    communicator = terminal.communicator
    limit = UNACKED_BYTES + READ_SIZE
    received = 0
    deadline = time.monotonic() + 30
    # Read until the server goes quiet: it must, for nothing is acknowledged.
    while received < UNACKED_BYTES or not await communicator.receive_nothing(timeout=1.0):
        assert time.monotonic() < deadline, "the output never stopped"
        message = await communicator.receive_output(timeout=10)
        received += len(message.get("bytes") or b"")
        assert received <= limit

    assert received >= UNACKED_BYTES

    # Acknowledging what was drawn lets the output flow again.
    await communicator.send_to(text_data=json.dumps({"ack": received}))
    message = await communicator.receive_output(timeout=10)
    assert message.get("bytes")
    await terminal.close()


# --- who may open a terminal ---------------------------------------------------------------


@pytest.fixture
def other_admin(db):
    return get_user_model().objects.create_user(username=unique("admin"), is_staff=True)


async def test_a_wrong_ticket_is_refused(admin_user, running):
    ticket = ticket_for(admin_user, running["Id"])
    forged = ticket[:-4] + ("AAAA" if not ticket.endswith("AAAA") else "BBBB")

    assert await refused(exec_path(running["Id"], forged), admin_user) == 4403
    assert await refused(exec_path(running["Id"], ""), admin_user) == 4403


async def test_an_expired_ticket_is_refused(admin_user, running, monkeypatch):
    stale = old_ticket(monkeypatch, admin_user, running["Id"], age=tickets.MAX_AGE_SECONDS + 5)
    fresh = old_ticket(monkeypatch, admin_user, running["Id"], age=tickets.MAX_AGE_SECONDS - 20)

    assert await refused(exec_path(running["Id"], stale), admin_user) == 4403
    communicator = await connected(exec_path(running["Id"], fresh), admin_user)
    await communicator.disconnect()


async def test_a_ticket_issued_to_another_user_is_refused(admin_user, other_admin, running):
    ticket = ticket_for(other_admin, running["Id"])

    assert await refused(exec_path(running["Id"], ticket), admin_user) == 4403


async def test_a_ticket_issued_for_another_container_is_refused(admin_user, make):
    first, second = make.container(command=STOPPABLE), make.container(command=STOPPABLE)
    ticket = ticket_for(admin_user, first["Id"])

    assert await refused(exec_path(second["Id"], ticket), admin_user) == 4403


async def test_a_viewer_may_not_open_a_terminal_even_with_a_ticket(viewer_user, running):
    ticket = ticket_for(viewer_user, running["Id"])

    assert await refused(exec_path(running["Id"], ticket), viewer_user) == 4403


async def test_someone_signed_out_may_not_open_a_terminal(running):
    assert await refused(exec_path(running["Id"], "x"), AnonymousUser()) == 4403


async def test_a_terminal_on_an_unknown_container_is_not_found(admin_user):
    missing = unique("missing")
    ticket = ticket_for(admin_user, missing)

    assert await refused(exec_path(missing, ticket), admin_user) == 4404


async def test_a_ticket_opens_one_terminal_only(admin_user, running):
    ticket = ticket_for(admin_user, running["Id"])
    first = await connected(exec_path(running["Id"], ticket), admin_user)
    await first.disconnect()

    assert await refused(exec_path(running["Id"], ticket), admin_user) == 4403


async def test_the_terminal_runs_what_the_ticket_says_whatever_the_query_string_says(
    admin_user, running
):
    ticket = ticket_for(admin_user, running["Id"], cmd="sh", user="nobody")
    path = exec_path(running["Id"], ticket) + "&cmd=id&user=root&workdir=/etc"
    terminal = Terminal(await connected(path, admin_user))

    assert await terminal.ask("$(id -u) $(pwd)") == "65534 /"
    await terminal.close()


# --- the audit trail -----------------------------------------------------------------------


async def test_a_terminal_is_audited_with_its_command_line_and_exit_code(admin_user, running):
    terminal = await Terminal.open(admin_user, running["Id"], user="nobody", workdir="/tmp")
    assert await terminal.ask("$((1+1))") == "2"

    await terminal.type(b"exit 3\n")
    await terminal.read_until(lambda t: t.close_code is not None)

    entry = await AuditEntry.objects.aget(action="exec", target=running["Name"].lstrip("/"))
    name = running["Name"].lstrip("/")
    assert entry.username == admin_user.username
    assert entry.team == HOME_TEAM
    assert entry.command == f"docker exec -it -u nobody -w /tmp {name} sh"
    assert (entry.succeeded, entry.exit_code, entry.message) == (True, 3, "exited with code 3")


async def test_a_terminal_closed_by_the_browser_is_audited_as_closed(admin_user, running):
    terminal = await Terminal.open(admin_user, running["Id"])
    assert await terminal.ask("$((1+1))") == "2"

    await terminal.close()

    async def recorded() -> bool:
        entry = await AuditEntry.objects.aget(action="exec", target=running["Name"].lstrip("/"))
        return entry.message == "closed before its process ended"

    await eventually_async(recorded)


async def test_a_terminal_whose_program_is_missing_is_audited_with_the_engine_exit_code(
    admin_user, running
):
    terminal = await Terminal.open(admin_user, running["Id"], cmd="/no/such/program")
    await terminal.read_until(lambda t: t.close_code is not None)

    entry = await AuditEntry.objects.aget(action="exec", target=running["Name"].lstrip("/"))
    assert (entry.exit_code, entry.message) == (126, "exited with code 126")


def test_audit_entries_cannot_be_deleted_through_the_admin(admin_client, admin_user):
    entry = AuditEntry.objects.create(
        user=admin_user,
        username=admin_user.username,
        engine="unix:///x",
        action="exec",
        target="web",
        command="docker exec -it web sh",
        succeeded=True,
    )

    page = admin_client.get(f"/admin/containers_app/auditentry/{entry.pk}/delete/")
    posted = admin_client.post(
        f"/admin/containers_app/auditentry/{entry.pk}/delete/", {"post": "yes"}
    )
    bulk = admin_client.post(
        "/admin/containers_app/auditentry/",
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )

    assert page.status_code == 403
    assert posted.status_code == 403
    assert bulk.status_code in (200, 302)
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


# --- through the whole application: origin and session ------------------------------------


@pytest.fixture
def signed_in(transactional_db, admin_user) -> str:
    """The session cookie of the signed-in admin."""
    client = Client()
    client.force_login(admin_user)
    return client.cookies["sessionid"].value


def full_app(path: str, *, origin: str, session: str) -> WebsocketCommunicator:
    headers = [
        (b"origin", origin.encode()),
        (b"host", b"localhost:8000"),
        (b"cookie", f"sessionid={session}".encode()),
    ]
    return WebsocketCommunicator(application, path, headers=headers)


@pytest.mark.django_db(transaction=True)
async def test_the_terminal_works_through_the_application_from_the_same_origin(
    admin_user, signed_in, running
):
    ticket = ticket_for(admin_user, running["Id"])
    communicator = full_app(
        exec_path(running["Id"], ticket), origin="http://localhost:8000", session=signed_in
    )
    accepted, _ = await communicator.connect(timeout=15)
    assert accepted
    terminal = Terminal(communicator)

    assert await terminal.ask("$((6*7))") == "42"
    await terminal.close()


@pytest.mark.django_db(transaction=True)
async def test_a_terminal_asked_for_from_another_origin_is_refused(admin_user, signed_in, running):
    ticket = ticket_for(admin_user, running["Id"])
    communicator = full_app(
        exec_path(running["Id"], ticket), origin="http://evil.example", session=signed_in
    )

    accepted, _ = await communicator.connect(timeout=15)

    assert not accepted


@pytest.mark.django_db(transaction=True)
async def test_a_terminal_without_a_session_is_refused_through_the_application(admin_user, running):
    ticket = ticket_for(admin_user, running["Id"])
    communicator = full_app(
        exec_path(running["Id"], ticket), origin="http://localhost:8000", session="nonsense"
    )

    accepted, code = await communicator.connect(timeout=15)

    assert (accepted, code) == (False, 4403)
