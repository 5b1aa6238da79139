"""Jobs: queued beyond the limit, joined instead of started twice, cancelled, watched live by
any number of pages, and kept to their owner."""

import asyncio
import json
import threading
import time

import pytest

from containers_app import jobs
from containers_app.engine import images as engine_images
from containers_app.engine import raw
from containers_app.models import AuditEntry, Job
from tests.conftest import wait_on_condition
from tests.engine.sockets import connected

pytestmark = pytest.mark.django_db(transaction=True)


def ended(job_id: int, timeout: float = 60) -> Job:
    wait_on_condition(lambda: Job.objects.get(pk=job_id).ended, timeout=timeout)
    return Job.objects.get(pk=job_id)


def state_of(job_id: int) -> str:
    return Job.objects.get(pk=job_id).state


def test_jobs_beyond_the_limit_wait_queued_and_run_when_a_slot_frees(
    settings, blocker, staff_client
):
    holding = blocker(settings)
    wait_on_condition(lambda: state_of(holding.pk) == Job.RUNNING)

    response = staff_client.post("/images/pull/", {"reference": "berth-test/busybox:latest"})

    waiting = Job.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[1]))
    time.sleep(0.5)  # a positive signal is below: it still waits after the blocker's tick
    assert state_of(waiting.pk) == Job.QUEUED
    blocker.release.set()
    assert ended(waiting.pk).state in (Job.DONE, Job.FAILED)  # it ran: no registry here
    assert ended(holding.pk).state == Job.DONE


def test_a_second_pull_of_the_same_image_joins_the_first(settings, blocker, staff_client):
    blocker(settings)
    first = staff_client.post("/images/pull/", {"reference": "berth-test/busybox"})
    again = staff_client.post("/images/pull/", {"reference": "berth-test/busybox:latest"})

    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"]
    page = staff_client.get(first["Location"])  # a reload re-attaches to the same job
    assert page.status_code == 200
    assert b"docker pull berth-test/busybox:latest" in page.content
    assert Job.objects.filter(kind="pull", target="berth-test/busybox:latest").count() == 1


def test_a_queued_job_is_cancelled_before_it_starts(settings, blocker, staff_client):
    blocker(settings)
    job_url = staff_client.post("/images/pull/", {"reference": "berth-test/busybox"})["Location"]
    job_id = int(job_url.rstrip("/").rsplit("/", 1)[1])

    response = staff_client.post(f"/jobs/{job_id}/cancel/")

    assert response.status_code == 302
    job = ended(job_id)
    assert job.state == Job.CANCELLED
    assert job.result == "cancelled before it started"


def test_a_running_job_is_cancelled_by_closing_its_stream(engine, staff_user, staff_client):
    """The job follows the engine's event stream, which never ends by itself: cancelling
    closes it under the blocked reader."""

    def follow_events(run: jobs.Run) -> str:
        run.follow(raw.Messages(raw.open_stream(engine, "/events", {})))
        return "the event stream ended"

    job = jobs.start(
        user=staff_user,
        engine=engine,
        kind="test",
        target="events",
        command="docker events",
        work=follow_events,
    )
    wait_on_condition(lambda: (run := jobs.live(job.pk)) is not None and run._stream is not None)

    staff_client.post(f"/jobs/{job.pk}/cancel/")

    job = ended(job.pk, timeout=10)
    assert job.state == Job.CANCELLED
    entry = AuditEntry.objects.get(action="test", target="events")
    assert not entry.succeeded and entry.message == "cancelled"


def test_a_job_that_fails_in_its_work_ends_failed_and_is_audited(engine, staff_user):
    def broken(run: jobs.Run) -> str:
        run.say("about to fail")
        raise ValueError("something unexpected")

    job = jobs.start(
        user=staff_user,
        engine=engine,
        kind="test",
        target="broken",
        command="false",
        work=broken,
    )

    job = ended(job.pk)
    assert job.state == Job.FAILED
    assert "something unexpected" in job.result
    assert "about to fail" in job.output
    assert AuditEntry.objects.get(target="broken").succeeded is False


def test_an_engine_error_in_the_stream_fails_the_job_with_the_engines_words(engine, staff_user):
    def pull_nothing(run: jobs.Run) -> str:
        run.follow(
            engine_images.image_pull(
                engine=engine, repository="127.0.0.1:1/berthtest-none", tag="1", auth=None
            )
        )
        return "pulled"

    job = jobs.start(
        user=staff_user,
        engine=engine,
        kind="pull",
        target="x",
        command="docker pull x",
        work=pull_nothing,
    )

    job = ended(job.pk)
    assert job.state == Job.FAILED
    assert "connection refused" in job.result


def test_someone_elses_job_is_not_found_and_a_superuser_sees_it(
    engine, staff_user, other_admin_client, admin_client
):
    job = jobs.start(
        user=staff_user,
        engine=engine,
        kind="test",
        target="mine",
        command="true",
        work=lambda run: "done",
    )
    ended(job.pk)

    # An admin, but of another team: a job is its owner's whatever their roles.
    assert other_admin_client.get(f"/jobs/{job.pk}/").status_code == 404
    assert other_admin_client.post(f"/jobs/{job.pk}/cancel/").status_code == 404
    assert b"mine" not in other_admin_client.get("/jobs/").content
    assert admin_client.get(f"/jobs/{job.pk}/").status_code == 200
    assert b"mine" in admin_client.get("/jobs/").content


async def test_someone_elses_job_socket_says_no_such_job(engine, staff_user, django_user_model):
    from asgiref.sync import sync_to_async

    job = await sync_to_async(jobs.start)(
        user=staff_user,
        engine=engine,
        kind="test",
        target="mine",
        command="true",
        work=lambda run: "done",
    )
    other = await sync_to_async(django_user_model.objects.create_user)(username="other2")
    communicator = await connected(f"/ws/jobs/{job.pk}/", other)
    message = json.loads(await communicator.receive_from(timeout=10))
    assert message["error"] == "No such job."
    assert (await communicator.receive_output(timeout=10))["code"] == 4404


async def test_a_page_is_sent_the_whole_job_then_what_changes_then_the_end(engine, staff_user):
    from asgiref.sync import sync_to_async

    step = threading.Event()

    def two_steps(run: jobs.Run) -> str:
        run.say("first line")
        step.wait(10)
        run.say("second line")
        return "all done"

    job = await sync_to_async(jobs.start)(
        user=staff_user,
        engine=engine,
        kind="test",
        target="steps",
        command="true",
        work=two_steps,
    )
    communicator = await connected(f"/ws/jobs/{job.pk}/", staff_user)
    first = json.loads(await communicator.receive_from(timeout=10))
    if "first line" not in first.get("output", []):  # the page came before the first line
        await communicator.send_to(json.dumps({"ack": 1}))
        first = json.loads(await communicator.receive_from(timeout=10))
    assert first["state"] == "running" and "first line" in first["output"]
    late = await connected(f"/ws/jobs/{job.pk}/", staff_user)  # a reload, or a second page
    whole = json.loads(await late.receive_from(timeout=10))
    assert whole["full"] is True and "first line" in whole["output"]

    step.set()
    updates = []
    while not updates or updates[-1]["state"] == "running":
        await communicator.send_to(json.dumps({"ack": 1}))
        updates.append(json.loads(await communicator.receive_from(timeout=10)))
    assert updates[-1]["state"] == "done" and updates[-1]["result"] == "all done"
    assert updates[-1]["percent"] == 100.0
    sent = [line for update in updates for line in update.get("output", [])]
    assert sent == ["second line"]  # what changed, not the whole again
    await communicator.wait(timeout=10)
    await late.disconnect()


async def test_updates_are_sent_at_most_ten_times_a_second_however_fast_layers_move(
    engine, staff_user
):
    from asgiref.sync import sync_to_async

    layers = [f"{n:012x}" for n in range(50)]

    def busy(run: jobs.Run) -> str:
        deadline = time.monotonic() + 1.5
        done = 0
        while time.monotonic() < deadline:
            for layer in layers:
                done += 1
                with run.lock:
                    run.progress.feed(
                        {
                            "id": layer,
                            "status": "Downloading",
                            "progressDetail": {"current": done % 1000, "total": 1000},
                        }
                    )
        return f"{done} updates"

    job = await sync_to_async(jobs.start)(
        user=staff_user, engine=engine, kind="test", target="busy", command="true", work=busy
    )
    communicator = await connected(f"/ws/jobs/{job.pk}/", staff_user)
    started = time.monotonic()
    received = []
    while not received or received[-1]["state"] in ("queued", "running"):
        received.append(json.loads(await communicator.receive_from(timeout=10)))
        await communicator.send_to(json.dumps({"ack": 1}))
    seconds = time.monotonic() - started
    assert int(received[-1]["result"].split()[0]) > 1000  # the engine side was busy
    assert len(received) <= 10 * seconds + 2, (len(received), seconds)
    await asyncio.wait_for(communicator.wait(), 10)


@pytest.mark.parametrize(
    ("runner", "interrupted"),
    [
        (f"{jobs.HOST}:{2**22 + 1}:0", True),  # a process of this host that is gone
        (jobs.RUNNER.rsplit(":", 1)[0] + ":1", True),  # this pid, before a restart
        ("another-host:1:0", False),  # another host's process may well run it
    ],
)
def test_a_job_whose_process_is_gone_is_shown_as_interrupted(
    staff_user, staff_client, runner, interrupted
):
    job = Job.objects.create(
        user=staff_user,
        username=staff_user.username,
        engine="unix:///x",
        kind="pull",
        target="gone:1",
        command="docker pull gone:1",
        state=Job.RUNNING,
        runner=runner,
    )

    page = staff_client.get(f"/jobs/{job.pk}/")

    job.refresh_from_db()
    if interrupted:
        assert job.state == Job.FAILED and job.finished is not None
        assert b"interrupted: Berth stopped while it ran" in page.content
        assert not AuditEntry.objects.get(target="gone:1").succeeded
    else:
        assert job.state == Job.RUNNING
        assert not AuditEntry.objects.exists()
