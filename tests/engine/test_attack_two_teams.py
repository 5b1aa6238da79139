"""Two teams on one host, played as an attacker would: the admin of one team tries to reach
the other team's objects through every way Berth offers, and each attempt is refused.

The decoy: the attacker names an object of its own as the victim's full id (which Berth's
own messages once printed) or short id, then asks Berth to act on that reference. Berth finds
the reference once, in the engine's own order (a full id before a name, a name before an id
prefix), checks what it found and acts on that object's full id: the victim is never reached.
"""

import asyncio
import gzip
import io
import ipaddress
import json
import re
import shlex
import tarfile
import threading
import time
import tracemalloc

import pytest
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile

from containers_app.engine.containers import ACTIONS
from containers_app.models import AuditEntry, Job, Team
from tests.conftest import (
    HOME_TEAM,
    OTHER_TEAM,
    STOPPABLE,
    TEST_IMAGE,
    client_of,
    made_by,
    member,
    unique,
    wait_on_condition,
)
from tests.engine.markup import page
from tests.engine.sockets import connected, refused
from tests.engine.test_build_load import tar_of

pytestmark = pytest.mark.django_db(transaction=True)

VICTIM_SECRET = "DB_PASSWORD=victim-secret-value"
# The victim prints its secret; a logs, download or terminal answer that holds it reached it.
VICTIM_COMMAND = ["sh", "-c", f"echo {VICTIM_SECRET}; trap 'exit 0' TERM; sleep 600 & wait"]
LENGTHS = {"full id": 64, "short id": 12}


@pytest.fixture
def attacker_user(db):
    """The admin of the other team, who wants the home team's objects."""
    return member(unique("attacker"), OTHER_TEAM, "admin")


@pytest.fixture
def attacker(attacker_user):
    return client_of(attacker_user)


def containers_by_id(docker_api) -> dict[str, dict]:
    """Every container by its full id: asked by id, the engine could answer with a decoy
    named as that id."""
    return {c["Id"]: c for c in docker_api.containers(all=True)}


def untouched(docker_api, victim: dict) -> bool:
    now = containers_by_id(docker_api).get(victim["Id"])
    if now is None:
        return False
    state = docker_api.inspect_container(victim["Id"])["State"]
    return state["Running"] and state["StartedAt"] == victim["State"]["StartedAt"]


@pytest.fixture(params=list(LENGTHS))
def decoy(request, make):
    """The victim (the home team's, running, with a secret in its output) and the attacker's
    decoy, named as the victim's full or short id; the reference the attacker sends."""
    victim = make.container(command=VICTIM_COMMAND)
    ref = victim["Id"][: LENGTHS[request.param]]
    theirs = make.container(command=STOPPABLE, name=ref, team=OTHER_TEAM)
    return victim, theirs, ref


# --- 1. Act on exactly the object that was checked ------------------------------------------


@pytest.mark.parametrize("action", ACTIONS)
def test_a_container_action_on_a_decoy_reference_never_reaches_the_victim(
    action, decoy, attacker, docker_api
):
    victim, _, ref = decoy

    response = attacker.post(f"/containers/{ref}/{action.replace('_', '-')}/")

    assert untouched(docker_api, victim)
    if len(ref) == 64:
        # The full id is the victim's: answered as missing.
        assert response.status_code == 404
    else:
        # A name before an id prefix: the decoy is the container named (which the engine may
        # refuse to unpause, not being paused).
        assert response.status_code in (200, 302, 409, 502)
        assert victim["Id"] not in page(response)


@pytest.mark.parametrize("action", ACTIONS)
def test_a_bulk_action_on_a_decoy_reference_never_reaches_the_victim(
    action, decoy, attacker, docker_api
):
    victim, _, ref = decoy

    response = attacker.post("/containers/bulk/", {"action": action, "ids": ref}, follow=True)

    assert response.status_code == 200
    assert untouched(docker_api, victim)
    assert victim["Name"].lstrip("/") not in page(response)
    if len(ref) == 64:
        assert f"No such container: {ref}" in page(response)


async def read_all(answer) -> bytes:
    return b"".join([block async for block in answer.streaming_content])


def test_the_log_pages_of_a_decoy_reference_never_show_the_victim(decoy, attacker):
    victim, _, ref = decoy

    answers = [
        attacker.get(f"/containers/{ref}/logs/"),
        attacker.get(f"/containers/{ref}/logs/download/"),
        attacker.get(f"/logs/?c={ref}"),
    ]

    for answer in answers:
        body = asyncio.run(read_all(answer)) if answer.streaming else answer.content
        assert b"victim-secret-value" not in body
        assert answer.status_code == (404 if len(ref) == 64 else 200)
        if len(ref) == 12:
            assert victim["Id"].encode() not in body


def test_the_terminal_commit_recreate_and_run_similar_of_a_decoy_reference_never_reach_the_victim(
    decoy, attacker, docker_api
):
    victim, theirs, ref = decoy

    terminal = attacker.post(f"/containers/{ref}/exec/", {"cmd": "sh"})
    similar = attacker.get(f"/containers/{ref}/run-similar/")
    commit = attacker.post(f"/containers/{ref}/commit/", {"repository": unique("img"), "tag": "v"})
    recreate = attacker.post(f"/containers/{ref}/recreate/")

    for answer in (terminal, similar):
        assert "victim-secret-value" not in page(answer)
        if len(ref) == 12:
            assert victim["Id"] not in page(answer)
    for job in Job.objects.all():
        wait_on_condition(lambda job=job: Job.objects.get(pk=job.pk).ended, timeout=60)
        assert victim["Name"].lstrip("/") not in job.command
    assert untouched(docker_api, victim)
    if len(ref) == 64:
        assert {a.status_code for a in (terminal, similar, commit, recreate)} == {404}
    else:
        assert theirs["Id"] in page(terminal)  # the decoy's terminal, by its full id


async def test_the_sockets_of_a_decoy_reference_never_reach_the_victim(
    decoy, attacker_user, docker_api
):
    victim, theirs, ref = decoy
    if len(ref) == 64:
        for path in (f"/ws/stats/?id={ref}", f"/ws/live/?page=container&id={ref}"):
            assert await refused(path, attacker_user) == 4404, path
        for path in (f"/ws/containers/{ref}/logs/?tail=10", f"/ws/logs/?c={ref}&tail=10"):
            logs = await connected(path, attacker_user)
            said = json.loads(await logs.receive_from(timeout=10))
            assert said["error"] == f"No such container: {ref}"
            assert (await logs.receive_output(timeout=5))["code"] == 4404
        return
    # By the short id, the decoy's name: its log, never the victim's.
    logs = await connected(f"/ws/containers/{ref}/logs/?tail=10", attacker_user)
    first = json.loads(await logs.receive_from(timeout=10))
    assert first["containers"] == [[theirs["Id"], ref]]
    await asyncio.sleep(0.5)
    while not await logs.receive_nothing(timeout=0.2):
        assert "victim-secret-value" not in str(await logs.receive_output(timeout=1))
    await logs.disconnect()
    assert await sync_to_async(untouched)(docker_api, victim)


def test_an_image_removal_or_tag_by_a_decoy_tag_never_reaches_the_victim_image(
    attacker, make, docker_api
):
    victims = make.image(f"{unique('victim')}:v1")
    short = victims.removeprefix("sha256:")[:12]
    # A 12-hex name is a valid image name, which the engine takes before an id prefix.
    decoys = make.image(f"{short}:latest")
    make.container(image=victims, state="created")  # the home team runs it
    retagged = f"{unique('moved')}:v1"

    tagged = attacker.post(f"/images/{short}/tag/", {"target": retagged})
    assert tagged.status_code in (200, 302)
    assert docker_api.inspect_image(retagged)["Id"] == decoys
    removed = attacker.post(f"/images/{short}/remove/", {"force": "1"})
    by_full_id = attacker.post(f"/images/{victims}/remove/", {"force": "1"})

    assert removed.status_code in (200, 302)
    assert docker_api.inspect_image(victims)["Id"] == victims
    # Used by another team's container: refused.
    assert by_full_id.status_code == 403


@pytest.mark.parametrize("length", [64, 12])
def test_a_network_removal_by_a_decoy_reference_never_reaches_the_victim_network(
    length, attacker, make, docker_api
):
    victim = make.network()
    decoy = make.network(victim["Id"][:length], team=OTHER_TEAM)

    response = attacker.post(f"/networks/{victim['Id'][:length]}/remove/")

    assert docker_api.inspect_network(victim["Id"])["Id"] == victim["Id"]
    if length == 64:
        assert response.status_code == 404
    else:
        assert response.status_code in (200, 302)
        assert victim["Id"] not in {n["Id"] for n in docker_api.networks()} - {victim["Id"]}
        assert decoy["Id"] not in {n["Id"] for n in docker_api.networks()}


def test_a_volume_of_another_team_is_not_removed_by_its_name(attacker, make, docker_api):
    victim = make.volume()["Name"]

    response = attacker.post(f"/volumes/{victim}/remove/", {"force": "1"})

    assert response.status_code == 404
    assert docker_api.inspect_volume(victim)["Name"] == victim


def test_a_run_may_not_take_a_full_id_as_its_name_and_a_taken_name_names_nobody(
    attacker, make, docker_api
):
    victim = make.container(command=STOPPABLE)
    body = {
        "image": "berth-test/busybox:latest",
        "command": "sleep 5",
        "restart": "no",
        "detach": "on",
        "team": OTHER_TEAM,
    }

    as_id = attacker.post("/containers/run/", body | {"name": victim["Id"]})
    taken = attacker.post("/containers/run/", body | {"name": victim["Name"].lstrip("/")})

    assert as_id.status_code == 400
    assert "may not be 64 hex digits" in page(as_id)
    assert taken.status_code == 409
    assert "is already taken" in page(taken)
    assert victim["Id"][:12] not in page(taken)


# --- 4. The policy binds the team -------------------------------------------------------------


def test_a_team_admin_may_not_blank_the_policy_a_superuser_set(attacker):
    Team.objects.filter(slug=OTHER_TEAM).update(containers_max=1, memory_max=64 * 1024 * 1024)

    response = attacker.post(f"/teams/{OTHER_TEAM}/policy/", {})

    assert response.status_code == 403
    team = Team.objects.get(slug=OTHER_TEAM)
    assert (team.containers_max, team.memory_max) == (1, 64 * 1024 * 1024)


# --- 2. Image names belong to someone ---------------------------------------------------------


@pytest.fixture
def victims_image(make):
    """The home team's image, made through Berth, and its container created from its name."""
    name = f"{unique('app')}:1"
    image_id = make.image(name)
    made_by(image_id, HOME_TEAM)
    container = make.container(image=name, command=STOPPABLE)
    return name, image_id, container


def test_a_team_admin_may_not_point_another_team_s_image_name_at_its_own_image(
    victims_image, attacker, make, docker_api
):
    name, image_id, _ = victims_image
    planted = make.image(dockerfile_line="RUN echo planted > /planted")

    tag = attacker.post(f"/images/{planted}/tag/", {"target": name})
    push = attacker.post(f"/images/{planted}/push/", {"reference": name})
    build = attacker.post(
        "/images/build/", {"dockerfile": "FROM berth-test/busybox:latest\n", "tag": name}
    )

    for answer in (tag, push, build):
        assert answer.status_code == 403
        assert "only a superuser may point it at another image" in page(answer)
    assert docker_api.inspect_image(name)["Id"] == image_id
    assert not Job.objects.exists()
    assert AuditEntry.objects.filter(denied=True, action="tag").exists()


def test_a_commit_or_a_load_may_not_take_another_team_s_image_name(
    victims_image, attacker, attacker_user, make, docker_api
):
    name, image_id, _ = victims_image
    own = make.container(command=STOPPABLE, team=OTHER_TEAM)
    manifest = json.dumps([{"Config": "x.json", "RepoTags": [name], "Layers": []}])
    tar = tar_of({"manifest.json": manifest})

    commit = attacker.post(
        f"/containers/{own['Id']}/commit/",
        {"repository": name.split(":")[0], "tag": name.split(":")[1]},
    )
    load = attacker.post(
        "/images/load/", {"input": SimpleUploadedFile("x.tar", tar, "application/x-tar")}
    )

    assert commit.status_code == 403 and load.status_code == 403
    assert docker_api.inspect_image(name)["Id"] == image_id
    assert not Job.objects.exists()


def test_a_superuser_may_point_any_name_and_a_pull_is_no_takeover(
    victims_image, admin_client, make, docker_api
):
    name, _, _ = victims_image
    other = make.image()

    answer = admin_client.post(f"/images/{other}/tag/", {"target": name})

    assert answer.status_code == 302
    assert docker_api.inspect_image(name)["Id"] == other


def test_a_recreate_onto_an_image_its_name_now_names_asks_first(
    victims_image, staff_client, make, docker_api
):
    name, _, container = victims_image
    # Moved outside Berth (the CLI): nobody Berth knows of made the image it now names.
    other = make.image()
    repository, tag = name.split(":")
    docker_api.tag(other, repository, tag)

    asked = staff_client.post(f"/containers/{container['Id']}/recreate/")
    similar = staff_client.get(f"/containers/{container['Id']}/run-similar/")

    assert asked.status_code == 409
    assert "made or brought by nobody Berth knows of" in page(asked)
    assert 'name="confirm" value="1"' in page(asked)
    assert not Job.objects.exists()
    assert "now names image" in page(similar)
    confirmed = staff_client.post(f"/containers/{container['Id']}/recreate/", {"confirm": "1"})
    assert confirmed.status_code == 302
    job = Job.objects.get()
    wait_on_condition(lambda: Job.objects.get(pk=job.pk).ended, timeout=60)
    make.containers.append(container["Name"].lstrip("/"))


# --- 3. Secrets stay with their team ----------------------------------------------------------


def test_another_team_reads_no_value_of_an_image_the_home_team_committed(
    staff_client, attacker, make, docker_api
):
    victim = docker_api.create_container(
        "berth-test/busybox:latest",
        command=STOPPABLE,
        environment=["DB_PASSWORD=s3cret-pw", "DATABASE_URL=postgres://u:pw-in-url@db/x"],
        labels={"berth.team": HOME_TEAM},
        name=unique("c"),
    )
    make.containers.append(victim["Id"])
    repository = unique("committed")

    job = staff_client.post(f"/containers/{victim['Id']}/commit/", {"repository": repository})
    assert job.status_code == 302
    done = Job.objects.get()
    wait_on_condition(lambda: Job.objects.get(pk=done.pk).ended, timeout=60)
    image_id = docker_api.inspect_image(f"{repository}:latest")["Id"]
    make.images.append(image_id)

    seen_by_them = attacker.get(f"/images/{image_id}/")
    saved_by_them = attacker.get(f"/images/{image_id}/save/")
    seen_by_us = staff_client.get(f"/images/{image_id}/")

    assert seen_by_them.status_code == 200
    for secret in ("s3cret-pw", "pw-in-url", "postgres://u:pw"):
        assert secret not in page(seen_by_them)
    assert "DB_PASSWORD" in page(seen_by_them)  # the names stay
    assert saved_by_them.status_code == 403
    assert "s3cret-pw" in page(seen_by_us)


def test_a_tag_typed_by_the_team_does_not_pass_an_image_rule(attacker, make, docker_api):
    Team.objects.filter(slug=OTHER_TEAM).update(image_patterns="nginx:*")
    disguised = f"nginx:{unique('x')}"
    make.image(disguised)  # busybox under nginx's name, by nobody Berth knows of
    body = {
        "image": disguised,
        "name": unique("c"),
        "command": "sleep 5",
        "restart": "no",
        "detach": "on",
        "team": OTHER_TEAM,
    }
    make.containers.append(body["name"])

    answer = attacker.post("/containers/run/", body)

    assert answer.status_code == 400
    assert "by its name only" in page(answer)
    assert body["name"] not in {c["Names"][0].lstrip("/") for c in docker_api.containers(all=True)}


def test_a_team_s_build_runs_within_its_caps_on_its_own_network(attacker, make, docker_api):
    Team.objects.filter(slug=OTHER_TEAM).update(memory_max=64 * 1024 * 1024, cpus_max=0.5)
    tag = f"{unique('capped')}:1"
    dockerfile = (
        "FROM berth-test/busybox:latest\n"
        "RUN cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max 2>/dev/null; "
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us "
        "2>/dev/null; echo address=$(hostname -i); true\n"
    )

    answer = attacker.post("/images/build/", {"dockerfile": dockerfile, "tag": tag})

    assert answer.status_code == 302
    job = Job.objects.get()
    wait_on_condition(lambda: Job.objects.get(pk=job.pk).ended, timeout=120)
    job = Job.objects.get(pk=job.pk)
    make.images.append(tag)
    assert job.state == Job.DONE, job.result + job.output
    assert str(64 * 1024 * 1024) in job.output
    assert "50000" in job.output
    network = docker_api.inspect_network(f"berth-team-{OTHER_TEAM}")
    subnet = ipaddress.ip_network(network["IPAM"]["Config"][0]["Subnet"])
    address = re.search(r"address=(\d+\.\d+\.\d+\.\d+)", job.output)[1]
    assert ipaddress.ip_address(address) in subnet


# --- 5. Builds and logins reach nothing internal ------------------------------------------------


@pytest.mark.parametrize(
    "dockerfile",
    [
        f"FROM {TEST_IMAGE}\nADD http://127.0.0.1:8100/accounts/login/ /f\nRUN cat /f\n",
        "FROM berth-test/busybox:latest\nARG U=http://127.0.0.1:8100/\nADD $U /f\n",
        "FROM registry.invalid/base:1\nRUN true\n",
        "FROM berth-test/busybox:latest\nLABEL berth.team=berth-tests\n",
        "FROM berth-test/busybox:latest\nLABEL com.docker.compose.project=shop\n",
    ],
    ids=["add url", "add url from an arg default", "missing base", "team label", "project label"],
)
def test_a_build_that_would_reach_the_host_or_claim_an_owner_is_refused(attacker, dockerfile):
    answer = attacker.post("/images/build/", {"dockerfile": dockerfile, "tag": unique("b")})

    assert answer.status_code == 403
    assert not Job.objects.exists()
    assert AuditEntry.objects.get(action="build").denied


def test_a_build_on_a_base_with_onbuild_triggers_is_refused(attacker, make):
    base = f"{unique('onbuild')}:1"
    make.image(base, dockerfile_line="ONBUILD ADD http://127.0.0.1:8100/ /f")
    dockerfile = f"FROM {base}\nRUN true\n"

    answer = attacker.post("/images/build/", {"dockerfile": dockerfile, "tag": unique("b")})

    assert answer.status_code == 403
    assert "ONBUILD" in page(answer)
    assert not Job.objects.exists()


# --- 6. Uploads and jobs are bounded ----------------------------------------------------------


def gzip_bomb(unpacked: int) -> bytes:
    """A .tar.gz of a few hundred KB holding a .dockerignore of `unpacked` bytes."""
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9) as zipped,
        tarfile.open(fileobj=zipped, mode="w|") as archive,
    ):
        info = tarfile.TarInfo(".dockerignore")
        info.size = unpacked
        archive.addfile(info, Zeros(unpacked))
    return buffer.getvalue()


class Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        self.left -= size
        return b"a" * size


def test_a_gzip_bomb_context_is_refused_and_the_server_grows_by_a_few_mib(
    attacker, settings, tmp_path
):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    bomb = gzip_bomb(300 * 1024 * 1024)
    assert len(bomb) < 1024 * 1024
    upload = SimpleUploadedFile("bomb.tar.gz", bomb, "application/gzip")
    dockerfile = "FROM berth-test/busybox:latest\nRUN true\n"

    tracemalloc.start()
    try:
        answer = attacker.post(
            "/images/build/", {"context": upload, "dockerfile": dockerfile, "tag": unique("b")}
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert answer.status_code == 400
    assert ".dockerignore is larger than 1 MiB" in page(answer)
    assert peak < 8 * 1024 * 1024, f"the request held {peak / 2**20:.0f} MiB at its peak"
    assert not Job.objects.exists()
    assert list(tmp_path.iterdir()) == []


def test_an_upload_above_its_unpacked_cap_is_refused_naming_the_cap(attacker, settings):
    settings.UPLOAD_MAX_EXPANDED_BYTES = 64 * 1024 * 1024
    upload = SimpleUploadedFile("bomb.tar.gz", gzip_bomb(100 * 1024 * 1024), "application/gzip")

    answer = attacker.post("/images/load/", {"input": upload})

    assert answer.status_code == 400
    assert "BERTH_UPLOAD_MAX_EXPANDED_BYTES" in page(answer)
    assert not Job.objects.exists()


def test_an_upload_above_its_cap_is_refused_before_it_is_read(attacker, settings):
    settings.UPLOAD_MAX_BYTES = 1024
    upload = SimpleUploadedFile("big.tar", tar_of({"x": "y" * 4096}), "application/x-tar")

    answer = attacker.post("/images/load/", {"input": upload})

    assert answer.status_code == 413
    assert "BERTH_UPLOAD_MAX_BYTES" in page(answer)
    assert not Job.objects.exists()


def state_of(job) -> str:
    return Job.objects.get(pk=job.pk).state


def test_one_user_s_long_jobs_never_hold_every_slot(
    settings, holding, attacker_user, staff_user, engine
):
    settings.MAX_JOBS_PER_ENGINE = 3
    settings.MAX_RUNNING_JOBS_PER_USER = 2
    hogs = [holding(attacker_user, engine, f"hog-{n}") for n in range(3)]
    wait_on_condition(lambda: sum(state_of(j) == Job.RUNNING for j in hogs) == 2)

    theirs = holding(staff_user, engine, "another user's")

    wait_on_condition(lambda: state_of(theirs) == Job.RUNNING)
    assert [state_of(j) for j in hogs].count(Job.QUEUED) == 1


def test_a_free_slot_goes_to_the_user_whose_jobs_ran_least_lately(
    settings, holding, attacker_user, staff_user, engine
):
    from containers_app import jobs

    settings.MAX_JOBS_PER_ENGINE = 1
    first = holding(attacker_user, engine, "first")
    wait_on_condition(lambda: state_of(first) == Job.RUNNING)
    second_of_theirs = holding(attacker_user, engine, "second")
    other = holding(staff_user, engine, "another user's")
    time.sleep(0.6)  # both have asked for the slot at least twice meanwhile

    jobs.cancel(first.pk)

    wait_on_condition(lambda: state_of(other) == Job.RUNNING)
    assert state_of(second_of_theirs) == Job.QUEUED


def test_a_user_may_not_queue_more_than_their_jobs_and_is_told_why(
    settings, holding, attacker, attacker_user, engine
):
    settings.MAX_JOBS_PER_ENGINE = 1
    settings.MAX_RUNNING_JOBS_PER_USER = 1
    settings.MAX_QUEUED_JOBS_PER_USER = 2
    for n in range(3):
        holding(attacker_user, engine, f"hog-{n}")

    answer = attacker.post("/images/pull/", {"reference": "berth-test/busybox:latest"})

    assert answer.status_code == 429
    assert "1 running, 2 waiting" in page(answer)
    assert Job.objects.count() == 3


def test_a_job_s_output_is_kept_to_its_cap_and_its_page_says_what_was_cut(
    settings, attacker, attacker_user, engine
):
    from containers_app import jobs

    settings.JOB_OUTPUT_BYTES = 256 * 1024

    def flood(run) -> str:
        for n in range(200):
            run.say(f"{n:04d} " + "x" * 60 * 1024)
        return "flooded"

    job = jobs.start(
        user=attacker_user, engine=engine, kind="test", target="flood", command="x", work=flood
    )
    wait_on_condition(lambda: Job.objects.get(pk=job.pk).ended, timeout=30)

    answer = attacker.get(f"/jobs/{job.pk}/")
    assert answer.status_code == 200
    assert len(answer.content) < 512 * 1024, len(answer.content)
    assert "0199 " in page(answer)  # the newest kept
    assert "0000 " not in page(answer)
    assert "more characters cut" in page(answer)
    assert "lines not kept" in page(answer)


# --- 4. (continued) the maximum and the whole spec ---------------------------------------------


def test_two_runs_sent_at_once_cannot_both_pass_the_container_maximum(make, docker_api):
    team = f"race-{unique()[-8:]}"
    racer = member(unique("racer"), team, "admin")
    make.container(command=STOPPABLE, team=team)
    Team.objects.filter(slug=team).update(containers_max=2)
    names = [unique("race") for _ in range(4)]
    make.containers.extend(names)
    answers = {}

    def run(name: str) -> None:
        body = {
            "image": TEST_IMAGE,
            "name": name,
            "command": "sleep 600",
            "restart": "no",
            "detach": "on",
            "team": team,
        }
        answers[name] = client_of(racer).post("/containers/run/", body).status_code

    threads = [threading.Thread(target=run, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    made = {c["Names"][0].lstrip("/") for c in docker_api.containers(all=True)} & set(names)
    assert len(made) == 1, answers
    assert sorted(answers.values()) == [302, 400, 400, 400]


def test_a_container_made_with_what_the_run_form_cannot_set_is_recreated_by_superusers_only(
    staff_client, admin_client, make, docker_api
):
    made = docker_api.create_container(
        TEST_IMAGE,
        command=STOPPABLE,
        name=unique("c"),
        labels={"berth.team": HOME_TEAM},
        host_config=docker_api.create_host_config(
            sysctls={"net.ipv4.ip_unprivileged_port_start": "0"}
        ),
    )
    make.containers.append(made["Id"])

    refused = staff_client.post(f"/containers/{made['Id']}/recreate/")

    assert refused.status_code == 403
    assert "--sysctl" in page(refused)
    assert not Job.objects.exists()
    assert AuditEntry.objects.get(action="recreate").denied


# --- 2. (continued) each team on its own network ------------------------------------------------

LISTENER = ["sh", "-c", "while true; do echo hello-from-b | nc -l -p 8080; done"]


def run_through_berth(client, make, team: str, command: list[str], network: str = "") -> dict:
    name = unique("net")
    make.containers.append(name)
    body = {
        "image": TEST_IMAGE,
        "name": name,
        "command": shlex.join(command),
        "restart": "no",
        "detach": "on",
        "team": team,
        "network": network,
    }
    answer = client.post("/containers/run/", body)
    assert answer.status_code == 302, page(answer)
    return make.api.inspect_container(name)


def reaches(docker_api, make, network: str, address: str, *, team: str) -> bool:
    """Whether a container on `network` opens a TCP connection to `address`:8080."""
    probe = make.container(
        command=["sh", "-c", f"nc -w 3 {address} 8080 </dev/null && echo REACHED; echo DONE"],
        team=team,
        network_mode=network,
        state="created",
    )
    docker_api.start(probe["Id"])
    wait_on_condition(lambda: b"DONE" in docker_api.logs(probe["Id"]), timeout=20)
    return b"REACHED" in docker_api.logs(probe["Id"])


def test_two_teams_containers_run_on_networks_of_their_own_and_cannot_reach_each_other(
    staff_client, attacker, make, docker_api
):
    theirs = run_through_berth(staff_client, make, HOME_TEAM, LISTENER)
    ours = run_through_berth(attacker, make, OTHER_TEAM, ["sleep", "600"])

    ((home_network, settings_b),) = theirs["NetworkSettings"]["Networks"].items()
    ((other_network, _),) = ours["NetworkSettings"]["Networks"].items()
    assert home_network == f"berth-team-{HOME_TEAM}"
    assert other_network == f"berth-team-{OTHER_TEAM}"
    labels = docker_api.inspect_network(home_network)["Labels"]
    assert labels["berth.team"] == HOME_TEAM
    address = settings_b["IPAddress"]
    # A container of the home team reaches it: the probe works.
    assert reaches(docker_api, make, home_network, address, team=HOME_TEAM)
    assert not reaches(docker_api, make, other_network, address, team=OTHER_TEAM)


def test_only_a_superuser_puts_a_team_s_container_on_the_engine_s_default_bridge(
    attacker, admin_client, make
):
    name = unique("c")
    make.containers.append(name)
    body = {
        "image": TEST_IMAGE,
        "name": name,
        "command": "sleep 5",
        "restart": "no",
        "detach": "on",
        "team": OTHER_TEAM,
        "network": "bridge",
    }

    refused = attacker.post("/containers/run/", body)
    allowed = admin_client.post("/containers/run/", body)

    assert refused.status_code == 403
    assert "only a superuser puts a team" in page(refused)
    assert allowed.status_code == 302


def test_a_recreate_moves_a_team_s_container_from_the_default_bridge_onto_its_network(
    staff_client, make, docker_api
):
    container = make.container(command=STOPPABLE)  # on the engine's default bridge
    assert set(container["NetworkSettings"]["Networks"]) == {"bridge"}

    answer = staff_client.post(f"/containers/{container['Id']}/recreate/")

    assert answer.status_code == 302, page(answer)
    job = Job.objects.get()
    wait_on_condition(lambda: Job.objects.get(pk=job.pk).ended, timeout=60)
    assert Job.objects.get(pk=job.pk).state == Job.DONE, Job.objects.get(pk=job.pk).output
    name = container["Name"].lstrip("/")
    make.containers.append(name)
    again = docker_api.inspect_container(name)
    assert set(again["NetworkSettings"]["Networks"]) == {f"berth-team-{HOME_TEAM}"}


# --- 5. (continued) pulls, pushes and logins -----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/images/pull/", {"reference": "127.0.0.1:1/x/y:1"}),
        ("/registries/", {"server": "169.254.169.254", "username": "u", "password": "p"}),
        ("/registries/", {"server": "10.0.0.1:5000", "username": "u", "password": "p"}),
        ("/registries/", {"server": "localhost:5000", "username": "u", "password": "p"}),
    ],
    ids=["pull from loopback", "login to link-local", "login to private", "login to localhost"],
)
def test_a_team_whose_policy_lists_no_registry_reaches_no_internal_address(path, body, attacker):
    Team.objects.filter(slug=OTHER_TEAM).update(registries="")

    answer = attacker.post(path, body)

    assert answer.status_code == 403
    assert "must list by name" in page(answer)
    assert not Job.objects.exists()
    assert AuditEntry.objects.get(denied=True).team == OTHER_TEAM


def test_a_push_to_a_registry_the_policy_does_not_list_is_refused_before_any_tag(
    attacker, make, docker_api
):
    Team.objects.filter(slug=OTHER_TEAM).update(registries="registry.example.com")
    image_id = make.image()
    made_by(image_id, OTHER_TEAM)
    target = f"127.0.0.1:5999/{unique('x')}:1"

    answer = attacker.post(f"/images/{image_id}/push/", {"reference": target})

    assert answer.status_code == 403
    assert "is not one your team may reach" in page(answer)
    assert target not in (docker_api.inspect_image(image_id)["RepoTags"] or [])


def test_a_failed_login_tells_no_connection_details(attacker):
    # Listed by the test teams' policy (127.0.0.1:*), but nothing listens there.
    answer = attacker.post(
        "/registries/", {"server": "127.0.0.1:1", "username": "u", "password": "p"}
    )

    assert answer.status_code in (400, 503)
    assert "Could not reach or sign in to the registry 127.0.0.1:1." in page(answer)
    for detail in ("connection refused", "dial tcp", "http:", "https:"):
        assert detail not in page(answer).lower()


def test_a_team_writes_only_the_image_names_its_policy_lists(attacker, make, docker_api):
    Team.objects.filter(slug=OTHER_TEAM).update(repositories="registry.example.com/others/*")
    image_id = make.image()

    refused = attacker.post(f"/images/{image_id}/tag/", {"target": f"{unique('mine')}:1"})
    allowed = attacker.post(
        f"/images/{image_id}/tag/", {"target": f"registry.example.com/others/{unique('a')}:1"}
    )

    assert refused.status_code == 403
    assert "(its policy&#x27;s repositories)" in page(refused)
    assert allowed.status_code == 302


class SlowTar(io.RawIOBase):
    """A tar body that comes slowly, as from a slow disk: 64 KiB every 0.1 s."""

    def __init__(self, blocks: int) -> None:
        self.left = blocks

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        time.sleep(0.1)
        self.left -= 1
        return b"\0" * 65536


def test_a_load_is_cancelled_while_its_tar_is_being_sent(attacker_user, engine):
    from containers_app import job_work, jobs, uploads

    class SlowPayload(uploads.Payload):
        def open(self):
            return SlowTar(200)  # 20 s of sending

    job = jobs.start(
        user=attacker_user,
        engine=engine,
        kind="load",
        target="slow.tar",
        command="docker load",
        work=job_work.load(engine=engine, tar=SlowPayload(size=200 * 65536)),
    )
    run = jobs.live(job.pk)
    wait_on_condition(lambda: run._socket is not None, timeout=10)  # sending
    time.sleep(0.3)
    asked = time.monotonic()

    jobs.cancel(job.pk)

    wait_on_condition(lambda: Job.objects.get(pk=job.pk).ended, timeout=5)
    assert Job.objects.get(pk=job.pk).state == Job.CANCELLED
    assert time.monotonic() - asked < 2


# --- 7. The audit trail names what was acted on -------------------------------------------------


def test_a_stop_from_the_list_is_found_in_the_audit_trail_by_its_name_and_by_its_id(
    staff_client, make
):
    container = make.container(command=STOPPABLE)
    name, full_id = container["Name"].lstrip("/"), container["Id"]

    staff_client.post("/containers/bulk/", {"action": "stop", "ids": full_id})

    entry = AuditEntry.objects.get(action="stop")
    assert (entry.target, entry.object_id, entry.team) == (name, full_id, HOME_TEAM)
    for query in (f"object={name}", f"object={full_id[:12]}", f"q={full_id[:12]}", f"q={name}"):
        listed = staff_client.get(f"/audit/?{query}")
        assert f'data-id="{entry.pk}"' in page(listed), query
    exported = asyncio.run(read_all(staff_client.get(f"/audit/export.csv?object={name}")))
    assert full_id.encode() in exported and name.encode() in exported


def test_a_network_name_two_networks_share_is_answered_as_ambiguous_without_details(
    attacker, make, docker_api
):
    name = unique("dup")
    ours = make.network(name, team=OTHER_TEAM, check_duplicate=False)
    theirs = make.network(name, team=HOME_TEAM, check_duplicate=False)

    answer = attacker.post(f"/networks/{name}/remove/")

    assert answer.status_code == 404
    assert f"{name} names more than one network" in page(answer)
    assert theirs["Id"][:12] not in page(answer) and "2 matches" not in page(answer)
    assert {n["Id"] for n in docker_api.networks(names=[name])} == {ours["Id"], theirs["Id"]}


def test_a_pull_then_run_checks_the_maximum_again_before_it_makes_the_container(
    attacker_user, engine, registry, make, docker_api
):
    from containers_app import job_work, jobs
    from containers_app.engine.specs import ContainerSpec

    reference = f"{registry.address}/{unique('pulled')}"
    docker_api.tag(TEST_IMAGE, reference, "1")
    for line in docker_api.push(reference, tag="1", stream=True, decode=True):
        assert "error" not in line, line
    docker_api.remove_image(f"{reference}:1")
    name = unique("late")
    make.containers.append(name)
    reason = f"Team {OTHER_TEAM} has 1 container, its maximum is 1: remove one first."

    job = jobs.start(
        user=attacker_user,
        engine=engine,
        kind="run",
        target=name,
        command="docker run",
        work=job_work.pull_then_run(
            engine=engine,
            repository=reference,
            tag="1",
            auth=None,
            spec=ContainerSpec(image=f"{reference}:1", name=name, command=("sleep", "5")),
            teams=[OTHER_TEAM],
            maximum_refusal=lambda: reason,
        ),
    )
    wait_on_condition(lambda: Job.objects.get(pk=job.pk).ended, timeout=60)
    make.images.append(f"{reference}:1")

    ended = Job.objects.get(pk=job.pk)
    assert ended.state == Job.FAILED
    assert reason in ended.result and "no container was made" in ended.result
    assert name not in {c["Names"][0].lstrip("/") for c in docker_api.containers(all=True)}


def test_the_maximum_a_pull_then_run_asks_again_is_the_team_s_count_by_then(
    attacker_user, engine, make
):
    from containers_app import actors
    from containers_app.engine.specs import ContainerSpec
    from containers_app.views.run import _maximum_refusal

    team = f"late-{unique()[-8:]}"
    Team.objects.create(slug=team, name=team, containers_max=1)
    actor = actors.of_user(attacker_user, engine)
    refusal = _maximum_refusal(actor, engine, team, ContainerSpec(image=TEST_IMAGE))

    assert refusal() == ""
    make.container(command=STOPPABLE, team=team)  # made meanwhile
    assert refusal().startswith(f"Team {team} has 1 container, its maximum is 1")
