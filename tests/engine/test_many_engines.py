"""One Berth, several engines: an engine over TCP with TLS and one over SSH (the private ones
scripts/test-remote-engines starts), each reached with its own credentials, listed, acted
on, streamed from, refused when its certificate or host key is wrong, and kept apart from
the default engine and from teams it is not granted to."""

import contextlib
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import docker
import docker.errors
import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from containers_app import engines, health, tickets
from containers_app.engine import containers as engine_containers
from containers_app.engine import raw
from containers_app.engine.client import forget
from containers_app.models import AuditEntry, Team
from containers_app.models import Engine as EngineRow
from tests.conftest import (
    HOME_TEAM,
    OTHER_TEAM,
    STOPPABLE,
    TEST_IMAGE,
    remote_engine,
    unique,
    wait_on_condition,
)
from tests.engine.remote_engines import KINDS, REMOTE_SCRIPT, Remote, address_of
from tests.engine.sockets import connected, refused, stop_shared_upstreams
from tests.engine.test_logs import LogSocket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=KINDS)
def far(request, db) -> Remote:
    """Each kind of remote engine in turn, registered for every team."""
    engine = Remote(request.param)
    yield engine
    stop_shared_upstreams()
    engine.remove()


@pytest.fixture
def tls() -> Remote:
    engine = Remote("tls")
    yield engine
    engine.remove()


@pytest.fixture
def ssh() -> Remote:
    engine = Remote("ssh")
    yield engine
    stop_shared_upstreams()
    engine.remove()


# --- pages and actions on each kind ---------------------------------------------------------


def test_each_kind_of_engine_lists_its_own_containers_and_not_the_default_s(far, admin_client):
    mine = far.container()

    page = admin_client.get(f"/engines/{far.slug}/containers/")
    default = admin_client.get("/containers/")

    assert page.status_code == 200
    assert mine["Name"].lstrip("/") in page.content.decode()
    assert mine["Name"].lstrip("/") not in default.content.decode()


def test_each_kind_of_engine_lists_its_images_networks_and_volumes_and_shows_its_system(
    far, staff_client
):
    network = far.api.create_network(unique("n"), labels={"berth.team": HOME_TEAM})
    volume = far.api.create_volume(unique("v"), labels={"berth.team": HOME_TEAM})
    try:
        base = f"/engines/{far.slug}"
        assert TEST_IMAGE.split(":")[0] in staff_client.get(f"{base}/images/").content.decode()
        networks = staff_client.get(f"{base}/networks/").content.decode()
        assert network["Id"][:12] in networks or network["Id"] in networks
        assert volume["Name"] in staff_client.get(f"{base}/volumes/").content.decode()
        system = staff_client.get(f"{base}/system/")
        assert system.status_code == 200
        assert far.api.version()["Version"] in system.content.decode()
        # Removed through Berth, on that engine.
        assert staff_client.post(f"{base}/volumes/{volume['Name']}/remove/").status_code == 302
        assert not far.api.volumes(filters={"name": volume["Name"]})["Volumes"]
    finally:
        with contextlib.suppress(docker.errors.APIError):
            far.api.remove_network(network["Id"])
        with contextlib.suppress(docker.errors.APIError):
            far.api.remove_volume(volume["Name"])


def test_a_container_of_each_kind_is_stopped_started_and_removed_through_its_engine_s_urls(
    far, staff_client
):
    mine = far.container()
    base = f"/engines/{far.slug}/containers/{mine['Id']}"

    assert staff_client.post(f"{base}/stop/").status_code == 302
    assert far.api.inspect_container(mine["Id"])["State"]["Running"] is False
    assert staff_client.post(f"{base}/start/").status_code == 302
    assert far.api.inspect_container(mine["Id"])["State"]["Running"] is True
    assert staff_client.post(f"{base}/force-remove/").status_code == 302
    with pytest.raises(docker.errors.NotFound):
        far.api.inspect_container(mine["Id"])


def test_the_commands_an_engine_s_pages_show_name_it_as_the_cli_would(far, staff_client, make):
    mine = far.container()
    here = make.container(command=STOPPABLE)
    named = f"docker -H {address_of(far.kind)}" + (" --tlsverify" if far.kind == "tls" else "")
    base = f"/engines/{far.slug}/containers/{mine['Id']}"

    detail = staff_client.get(f"{base}/").content.decode()
    stopped = staff_client.post(f"{base}/stop/", follow=True).content.decode()
    local = staff_client.get(f"/containers/{here['Id']}/").content.decode()

    assert f'title="{named} stop {mine["Name"].lstrip("/")}"' in detail
    assert f'<code class="cli" title="The equivalent command">{named} container inspect' in detail
    assert f"{named} stop {mine['Name'].lstrip('/')}" in stopped
    assert f'data-docker="{named}"' in detail
    assert f'title="docker stop {here["Name"].lstrip("/")}"' in local
    assert "docker -H" not in local

    call_command("engines", "context", far.slug, "far-host")

    named = "docker --context far-host"
    listed = staff_client.get(f"/engines/{far.slug}/containers/?all=1").content.decode()
    assert f'id="list-command" title="The equivalent command">{named} ps' in listed
    assert f'title="{named} start {mine["Name"].lstrip("/")}"' in listed
    assert "docker -H" not in listed


def test_the_run_form_names_its_engine_and_leads_to_another_s(tls, staff_client):
    page = staff_client.get(f"/engines/{tls.slug}/containers/run/").content.decode()

    run_here = (
        f'<option value="{tls.slug}" data-href="/engines/{tls.slug}/containers/run/" selected>'
    )
    assert run_here in page
    default = engines.default().slug
    assert f'data-href="/engines/{default}/containers/run/">' in page


def test_the_run_form_makes_the_container_on_the_engine_of_its_url(far, staff_client):
    name = unique("run")
    far.made.append(name)

    response = staff_client.post(
        f"/engines/{far.slug}/containers/run/",
        {
            "image": TEST_IMAGE,
            "name": name,
            "command": "sleep 600",
            "restart": "no",
            "detach": "on",
            "team": HOME_TEAM,
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    made = far.api.inspect_container(name)
    assert made["Config"]["Labels"]["berth.team"] == HOME_TEAM
    assert response["Location"].startswith(f"/engines/{far.slug}/containers/")


def test_the_detail_page_links_stay_on_the_engine_of_its_url(far, admin_client):
    mine = far.container()

    page = admin_client.get(f"/engines/{far.slug}/containers/{mine['Id']}/").content.decode()

    assert f'href="/engines/{far.slug}/containers/"' in page
    assert 'href="/containers/"' not in page


def test_the_default_engine_s_container_is_missing_under_another_engine(far, admin_client, make):
    here = make.container(command=STOPPABLE)

    response = admin_client.get(f"/engines/{far.slug}/containers/{here['Id']}/")

    assert response.status_code == 404


def test_the_audit_trail_names_the_engine_an_action_was_on(far, staff_client):
    from containers_app.models import AuditEntry

    mine = far.container()
    staff_client.post(f"/engines/{far.slug}/containers/{mine['Id']}/stop/")

    entry = AuditEntry.objects.filter(object_id=mine["Id"]).get()
    assert entry.engine == far.slug
    # The command as it would be typed against that engine.
    assert entry.command.startswith(f"docker -H {far.engine.base_url} ")
    AuditEntry.objects.create(
        username="x",
        engine="local",
        action="stop",
        target="elsewhere",
        command="",
        succeeded=True,
        team=HOME_TEAM,
    )
    assert "elsewhere" in staff_client.get("/audit/").content.decode()
    audit = staff_client.get(f"/audit/?engine={far.slug}").content.decode()
    assert mine["Id"][:12] in audit or mine["Name"].lstrip("/") in audit
    assert "elsewhere" not in audit


# --- streams over TLS and SSH ---------------------------------------------------------------


async def test_a_followed_log_over_each_kind_gets_old_and_new_lines(far, viewer_user):
    from asgiref.sync import sync_to_async

    mine = await sync_to_async(far.container)(
        "echo before; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo after; sleep 600"
    )
    socket = LogSocket(
        f"/ws/engines/{far.slug}/containers/{mine['Id']}/logs/?tail=all&follow=1",
        user=viewer_user,
    )
    accepted, _ = await socket.connect()
    assert accepted
    try:
        await socket.until_state("live")
        await socket.until(lambda: "before" in socket.texts)
        await sync_to_async(_exec)(far, mine["Id"], "touch /tmp/go")
        await socket.until(lambda: socket.texts[-1:] == ["after"])
        assert socket.texts.count("before") == 1
    finally:
        await socket.close()


def _exec(far: Remote, container_id: str, command: str) -> None:
    created = far.api.exec_create(container_id, ["sh", "-c", command])
    far.api.exec_start(created["Id"])


async def test_a_terminal_over_each_kind_runs_what_is_typed(far, admin_user):
    from asgiref.sync import sync_to_async

    mine = await sync_to_async(far.container)()
    ticket = await sync_to_async(tickets.issue)(
        user_id=admin_user.pk, container_id=mine["Id"], command=["sh"]
    )
    path = f"/ws/engines/{far.slug}/containers/{mine['Id']}/exec/?ticket={ticket}&cols=80&rows=24"
    communicator = await connected(path, admin_user)
    try:
        await communicator.send_to(bytes_data=b"echo hi-$((6*7))\n")
        output = b""
        deadline = time.monotonic() + 20
        while b"hi-42" not in output:
            message = await communicator.receive_output(timeout=deadline - time.monotonic())
            assert message["type"] != "websocket.close", output
            output += message.get("bytes") or b""
    finally:
        await communicator.disconnect()


def test_more_streams_over_ssh_than_sshd_allows_on_one_connection_all_work(ssh):
    """sshd allows 10 sessions per connection (MaxSessions, left at its default here):
    Berth opens more connections rather than failing the eleventh stream."""
    mine = ssh.container("i=0; while true; do echo $i; i=$((i+1)); sleep 0.2; done")
    streams = [
        raw.open_stream(
            ssh.engine,
            f"/containers/{mine['Id']}/logs",
            {"follow": 1, "stdout": 1, "tail": 1},
        )
        for _ in range(14)
    ]
    try:
        for stream in streams:
            assert stream.read(), "a stream gave nothing"
        # Short calls still go through beside them.
        assert engine_containers.container_list(engine=ssh.engine, all=True)
    finally:
        for stream in streams:
            stream.close()


# --- refusals with their reasons ------------------------------------------------------------


def test_a_changed_ssh_host_key_refuses_the_connection_and_says_so(admin_client, db):
    wrong = Remote("ssh", wrong=True)
    try:
        response = admin_client.get(f"/engines/{wrong.slug}/containers/")
        assert response.status_code == 503
        body = response.content.decode()
        assert "SSH host key" in body and remote_engine("SSH_HOST_KEY") in body
    finally:
        wrong.remove()


def test_a_host_key_pinned_again_after_a_reinstall_is_accepted(admin_client, db):
    wrong = Remote("ssh", wrong=True)  # as if the host had been reinstalled since
    try:
        assert admin_client.get(f"/engines/{wrong.slug}/containers/").status_code == 503
        call_command("engines", "pin", wrong.slug, remote_engine("SSH_HOST_KEY"))
        assert admin_client.get(f"/engines/{wrong.slug}/containers/").status_code == 200
    finally:
        wrong.remove()


def test_an_ssh_engine_whose_key_file_is_gone_is_down_saying_why(admin_client, db):
    # As for a call still on its way when the engine is removed (the files go with it).
    remote = Remote("ssh")
    try:
        Path(remote.engine.ssh_key).unlink()
        response = admin_client.get(f"/engines/{remote.slug}/containers/")
        assert response.status_code == 503
        assert "SSH key file is gone" in response.content.decode()
    finally:
        remote.remove()


def test_a_client_certificate_the_engine_does_not_trust_is_refused_with_its_reason(
    admin_client, db
):
    wrong = Remote("tls", wrong=True)
    try:
        response = admin_client.get(f"/engines/{wrong.slug}/containers/")
        # Refused with its alert, or closed unanswered (a race of TLS 1.3): either says why.
        assert response.status_code == 503
        assert "Berth&#x27;s client certificate" in response.content.decode()
        reason = health.check(wrong.engine).reason
        assert reason.startswith("TLS: the engine") and "Berth's client certificate" in reason
    finally:
        wrong.remove()


def test_a_key_with_a_passphrase_is_refused_with_a_clear_message(db, capsys):
    with pytest.raises(CommandError, match="passphrase"):
        call_command(
            "engines",
            "add",
            unique("ssh"),
            remote_engine("SSH_HOST"),
            "--ssh-key",
            remote_engine("SSH_PASSPHRASE_KEY"),
            "--ssh-host-key",
            remote_engine("SSH_HOST_KEY"),
        )


def test_tcp_without_tls_and_ssh_without_a_pinned_host_key_are_refused(db):
    with pytest.raises(CommandError, match="needs TLS"):
        call_command("engines", "add", unique("tcp"), "tcp://127.0.0.1:2375")
    with pytest.raises(CommandError, match="fingerprint"):
        call_command(
            "engines",
            "add",
            unique("ssh"),
            remote_engine("SSH_HOST"),
            "--ssh-key",
            remote_engine("SSH_KEY"),
        )


def test_the_engines_command_adds_tests_lists_grants_and_removes_an_engine(db, capsys):
    slug = unique("cli")
    folder = Path(remote_engine("TLS_DIR"))
    Team.objects.get_or_create(slug=HOME_TEAM, defaults={"name": HOME_TEAM})
    call_command(
        "engines", "add", slug, remote_engine("TLS_HOST"),
        "--tls-ca", str(folder / "ca.pem"),
        "--tls-cert", str(folder / "cert.pem"),
        "--tls-key", str(folder / "key.pem"),
        "--team", HOME_TEAM,
    )  # fmt: skip
    try:
        row = EngineRow.objects.get(slug=slug)
        assert "BEGIN" not in row.tls_key, "the key is stored encrypted"
        key_file = engines.credential_folder(slug) / "key.pem"
        engines.get(slug)
        assert key_file.stat().st_mode & 0o777 == 0o600

        call_command("engines", "test", slug)
        assert re.search(rf"{slug} is up: Docker \S+, [\d.]+ ms", capsys.readouterr().out)
        call_command("engines", "list")
        assert re.search(
            rf"^{slug}\t{re.escape(remote_engine('TLS_HOST'))}\t{HOME_TEAM}\tup",
            capsys.readouterr().out,
            re.M,
        )
        call_command("engines", "grant", slug, "--every-team")
        assert EngineRow.objects.get(slug=slug).every_team
    finally:
        call_command("engines", "remove", slug)
    assert not EngineRow.objects.filter(slug=slug).exists()
    assert not engines.credential_folder(slug).exists()


def test_the_default_engine_cannot_be_removed(db):
    with pytest.raises(CommandError, match="default engine"):
        call_command("engines", "remove", "local")


# --- who may use which engine ---------------------------------------------------------------


def test_a_team_not_granted_an_engine_gets_a_404_listing_the_engines_it_may_use(staff_client, db):
    other = Team.objects.get_or_create(slug=OTHER_TEAM, defaults={"name": OTHER_TEAM})[0]
    theirs = Remote("tls", teams=[other], every_team=False)
    try:
        mine = theirs.container(team=HOME_TEAM)  # labelled for the home team, on their engine
        for path in (
            f"/engines/{theirs.slug}/containers/",
            f"/engines/{theirs.slug}/containers/{mine['Id']}/",
            f"/engines/{theirs.slug}/images/",
        ):
            response = staff_client.get(path)
            assert response.status_code == 404, path
            listed = response.content.decode().split('id="usable-engines"', 1)[1]
            assert 'href="/engines/local/containers/"' in listed
            assert theirs.slug not in listed
        assert theirs.slug not in staff_client.get("/engines/").content.decode()
        assert theirs.slug not in staff_client.get("/engines/all/containers/").content.decode()
    finally:
        theirs.remove()


async def test_a_websocket_on_an_engine_not_granted_is_refused(staff_user, db):
    from asgiref.sync import sync_to_async

    other = (await sync_to_async(Team.objects.get_or_create)(slug=OTHER_TEAM))[0]
    theirs = await sync_to_async(Remote)("tls", teams=[other], every_team=False)
    try:
        mine = await sync_to_async(theirs.container)(team=HOME_TEAM)
        code = await refused(
            f"/ws/engines/{theirs.slug}/containers/{mine['Id']}/logs/?tail=1", staff_user
        )
        assert code in (4403, 4404)
    finally:
        await sync_to_async(theirs.remove)()


def test_the_all_engines_page_lists_every_engine_and_says_why_one_is_down(tls, admin_client, make):
    here = make.container(command=STOPPABLE)
    there = tls.container()
    dead = unique("dead")
    engines.engine_add(slug=dead, address=f"unix:///nonexistent/{dead}.sock", every_team=True)
    try:
        started = time.monotonic()
        page = admin_client.get("/engines/all/containers/").content.decode()
        took = time.monotonic() - started
    finally:
        engines.engine_remove(slug=dead)
    assert here["Name"].lstrip("/") in page and there["Name"].lstrip("/") in page
    assert re.search(rf'data-engine="{dead}".*could not be listed: no such file', page, re.S)
    assert took < 10


def test_an_engine_that_stops_does_not_touch_another_s_pages_and_comes_back_by_itself(
    ssh, admin_client, settings
):
    """The SSH engine's dockerd stopped: that engine is down (its pages say why), the default
    engine's pages answer as before; started again: health is up by itself and the pages
    work, through a new connection."""
    settings.ENGINE_HEALTH_SECONDS = 1
    assert health.check(ssh.engine).state == health.UP
    health.of(ssh.engine)  # watched from now on
    dockerd = int((Path(remote_engine("SSH_KEY")).parent / "dockerd.pid").read_text())
    os.kill(dockerd, signal.SIGTERM)
    try:
        wait_on_condition(lambda: health.of(ssh.engine).state == health.DOWN, timeout=30)
        started = time.monotonic()
        assert admin_client.get("/containers/").status_code == 200
        assert time.monotonic() - started < 5
        assert admin_client.get(f"/engines/{ssh.slug}/containers/").status_code == 503
    finally:
        subprocess.run([str(REMOTE_SCRIPT), "start"], check=True, timeout=120)
    wait_on_condition(lambda: health.of(ssh.engine).state == health.UP, timeout=90)
    assert admin_client.get(f"/engines/{ssh.slug}/containers/").status_code == 200


def test_the_engines_page_shows_each_engine_s_health(tls, admin_client):
    health.check(tls.engine)

    page = admin_client.get("/engines/").content.decode()

    assert re.search(rf'id="engine-{tls.slug}"[^>]*data-state="up"', page)
    assert "badge health-up" in page


def test_a_team_s_container_maximum_counts_its_containers_on_every_engine(
    tls, staff_client, docker_api
):
    here = len(docker_api.containers(all=True, filters={"label": f"berth.team={HOME_TEAM}"}))
    Team.objects.filter(slug=HOME_TEAM).update(containers_max=here + 1)
    tls.container(team=HOME_TEAM)  # the one more the maximum allows, on the TLS engine
    name = unique("run")

    response = staff_client.post(
        "/containers/run/",
        {"image": TEST_IMAGE, "name": name, "command": "sleep 600", "restart": "no",
         "detach": "on", "team": HOME_TEAM},
    )  # fmt: skip

    assert response.status_code == 400
    assert f"maximum is {here + 1}" in response.content.decode()


async def test_a_followed_log_over_ssh_comes_back_by_itself_after_the_connection_drops(
    ssh, viewer_user
):
    """paramiko never makes a dropped connection again: Berth makes a new one, and the log
    resumes where it was, with no line lost or doubled."""
    from asgiref.sync import sync_to_async

    mine = await sync_to_async(ssh.container)(
        "i=0; while true; do echo $i; i=$((i+1)); sleep 0.1; done"
    )
    socket = LogSocket(
        f"/ws/engines/{ssh.slug}/containers/{mine['Id']}/logs/?tail=all&follow=1",
        user=viewer_user,
    )
    assert (await socket.connect())[0]
    try:
        await socket.until_state("live")
        await socket.until(lambda: len(socket.numbers()) >= 15)
        # Every SSH connection of the engine's user cut (sshd's processes serving them).
        await sync_to_async(subprocess.run)(["pkill", "-KILL", "-f", "^sshd: berth-ssh-test"])
        seen = len(socket.numbers())
        await socket.until(lambda: len(socket.numbers()) >= seen + 20, timeout=60)
        numbers = socket.numbers()
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    finally:
        await socket.close()


def test_a_compose_project_is_handed_to_a_team_on_one_engine_only(
    tls, admin_client, viewer_client, make
):
    project = unique("p")
    theirs = tls.container(team=None, labels={"com.docker.compose.project": project})
    here = make.container(team=None, labels={"com.docker.compose.project": project})

    response = admin_client.post(
        f"/teams/{HOME_TEAM}/projects/", {"project": project, "engine": tls.slug}
    )

    assert response.status_code == 302
    assert (
        f'{project}</span> <span class="muted">on {tls.slug}'
        in admin_client.get(f"/teams/{HOME_TEAM}/").content.decode()
    )
    assert viewer_client.get(f"/engines/{tls.slug}/containers/{theirs['Id']}/").status_code == 200
    assert viewer_client.get(f"/containers/{here['Id']}/").status_code == 404


def test_an_engine_whose_pages_failed_lately_is_degraded_while_it_answers(tls):
    assert health.check(tls.engine).state == health.UP

    health.note_failure(tls.engine, "the engine did not answer in time")

    now = health.check(tls.engine)
    assert now.state == health.DEGRADED
    assert now.reason == (
        "1 call failed in the last minute, the last: the engine did not answer in time"
    )


def test_a_superuser_adds_an_ssh_engine_on_the_page_after_comparing_its_host_key(
    admin_client, staff_client, db
):
    fetched = admin_client.post("/engines/host-key/", {"address": remote_engine("SSH_HOST")})
    assert fetched.status_code == 200
    assert (
        f'<code id="fetched-host-key">{remote_engine("SSH_HOST_KEY")}</code>'
        in fetched.content.decode()
    )
    nowhere = admin_client.post("/engines/host-key/", {"address": "ssh://a@127.0.0.1:1"})
    assert nowhere.status_code == 400 and "could not be fetched" in nowhere.content.decode()
    slug = unique("ssh")
    form = {
        "slug": slug,
        "address": remote_engine("SSH_HOST"),
        "ssh_key": Path(remote_engine("SSH_KEY")).read_text(),
        "ssh_host_key": remote_engine("SSH_HOST_KEY"),
        "every_team": "on",
    }
    assert staff_client.post("/engines/", form).status_code == 403  # a team's admin may not

    try:
        added = admin_client.post("/engines/", form)
        assert added.status_code == 302
        assert admin_client.get(f"/engines/{slug}/containers/").status_code == 200
        # The key is never shown again, on any page.
        key_line = Path(remote_engine("SSH_KEY")).read_text().splitlines()[1]
        assert key_line not in admin_client.get("/engines/").content.decode()
    finally:
        with contextlib.suppress(engines.NoSuchEngine):
            engines.engine_remove(slug=slug)


def test_the_engine_s_tls_client_trusts_only_its_own_ca_whatever_the_environment_says(
    tls, admin_client, monkeypatch
):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca-bundle.pem")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/nonexistent/ca-bundle.pem")
    forget(tls.engine)  # a client built now, with these set

    assert admin_client.get(f"/engines/{tls.slug}/containers/").status_code == 200


def test_an_engine_whose_keys_cannot_be_decrypted_is_down_saying_why_and_others_work(
    tls, admin_client, make
):
    EngineRow.objects.filter(slug=tls.slug).update(
        tls_key=Fernet(Fernet.generate_key()).encrypt(b"another key's secret").decode(),
        updated=timezone.now(),
    )

    page = admin_client.get(f"/engines/{tls.slug}/containers/")
    assert page.status_code == 503
    assert "cannot be decrypted with the current BERTH_CREDENTIALS_KEY" in page.content.decode()
    assert admin_client.get("/containers/").status_code == 200
    assert admin_client.get("/engines/").status_code == 200


def test_a_registry_login_is_checked_through_an_engine_the_user_may_use(staff_client, db):
    """A team granted only the TLS engine: `docker login` asks the registry through that
    engine, never through the default one, which the team may not use."""
    home = Team.objects.get(slug=HOME_TEAM)
    Team.objects.filter(pk=home.pk).update(registries="127.0.0.1:5999")
    engines.row_of(engines.default().slug)  # registered, so its grants can change
    engines.engine_grant(slug=engines.default().slug, teams=[])
    far = Remote("tls", teams=[home], every_team=False)
    try:
        staff_client.post(
            "/registries/", {"server": "127.0.0.1:5999", "username": "u", "password": "p"}
        )
        engines.engine_grant(slug=far.slug, teams=[])
        no_engine = staff_client.post(
            "/registries/", {"server": "127.0.0.1:5999", "username": "u", "password": "p"}
        )
    finally:
        far.remove()

    entry = AuditEntry.objects.get(action="login")
    assert entry.engine == far.slug and not entry.succeeded
    assert no_engine.status_code == 400
    assert "None of your teams may use an engine" in no_engine.content.decode()
