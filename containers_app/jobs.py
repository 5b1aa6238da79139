"""Jobs: pulls, pushes, builds, loads, commits and recreates, which outlive the page that
started them.

A job runs in a thread of its own (its engine stream blocks for as long as the engine takes:
no time limit cuts a pull short) and keeps its progress in memory, where any number of
viewers read what changed since they last looked; the database row is brought up to date
every few seconds and when the job ends, for the pages drawn after that.

Slots are counted in the database, so that they hold across Berth's processes: at most
MAX_JOBS_PER_ENGINE run at once per engine and MAX_RUNNING_JOBS_PER_USER per user; a user
has at most MAX_QUEUED_JOBS_PER_USER more waiting. A free slot goes to the waiting job of
the user with the fewest running, oldest first: one user's queue never holds everyone's.
"""

import contextlib
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import OperationalError, close_old_connections, connection, transaction
from django.db.models import Count, Max
from django.utils import timezone

from containers_app import access, audit, cli
from containers_app.engine import Engine, EngineError
from containers_app.engine.raw import Messages
from containers_app.models import Job
from containers_app.streams.progress import Progress, StreamError

log = logging.getLogger(__name__)
SAVE_SECONDS = 2.0


class TooMany(Exception):
    """A user asked for more jobs than they may have running and waiting."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Cancelled(Exception):
    """The job was cancelled: raised in its thread at the next step, or when its stream
    is closed under it."""


@dataclass
class Run:
    """A job running in this process."""

    job_id: int
    key: Hashable | None
    engine: Engine
    user: object
    kind: str
    target: str
    command: str
    progress: Progress = field(default_factory=Progress)
    state: str = Job.QUEUED
    result: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    cancelled: threading.Event = field(default_factory=threading.Event)
    _stream: Messages | None = None
    _socket: socket.socket | None = None
    _process: subprocess.Popen | None = None
    _saved_at: float = 0.0
    _cleanup: Callable[[], None] | None = None
    team: str = ""

    # Used by work functions, in the job's thread.
    def follow(self, messages: Messages) -> None:
        """Reads an engine stream to its end into the progress; raises StreamError if the
        stream says it failed, Cancelled if the job is cancelled meanwhile."""
        with self.lock:
            self._stream = messages
        if self.cancelled.is_set():
            messages.close()
        try:
            for message in messages:
                with self.lock:
                    self.progress.feed(message)
                self._save_now_and_then()
        except OSError as error:
            if not self.cancelled.is_set():
                raise EngineError(f"the engine's stream broke off: {error}") from error
        finally:
            with self.lock:
                self._stream = None
            messages.close()
        self.check()

    def connected(self, sock: socket.socket) -> None:
        """Keeps the socket of a request the job is making (an upload, a commit), so a cancel
        can shut it while the request is still being sent or answered."""
        with self.lock:
            self._socket = sock
        if self.cancelled.is_set():
            _shut(sock)

    def stoppable(self, process) -> None:
        """Keeps a process the job runs (compose), so that a cancel can stop it."""
        with self.lock:
            self._process = process
        if self.cancelled.is_set():
            _stop(process)

    def say(self, text: str) -> None:
        with self.lock:
            self.progress.write(text if text.endswith("\n") else text + "\n")

    def check(self) -> None:
        if self.cancelled.is_set():
            raise Cancelled

    # Used by viewers, on the event loop: cheap, and never waits on the engine.
    def since(self, version: int, line: int) -> tuple[dict, bool]:
        """What changed after (version, line), and whether the job has ended."""
        with self.lock:
            update = self.progress.since(version, line)
            update["state"], update["result"] = self.state, self.result
            return update, self.state in ENDED

    def cancel(self) -> None:
        self.cancelled.set()
        with self.lock:
            stream, sock, process = self._stream, self._socket, self._process
        if stream is not None:
            stream.close()  # wakes the thread blocked reading it
        if sock is not None:
            _shut(sock)  # wakes the thread blocked sending a body or awaiting an answer
        if process is not None:
            _stop(process)  # its output ends, which wakes the thread reading it

    # The job's thread.
    def _save_now_and_then(self) -> None:
        if time.monotonic() - self._saved_at >= SAVE_SECONDS:
            self._save()

    def _save(self, **fields) -> None:
        self._saved_at = time.monotonic()
        with self.lock:
            output = "\n".join(self.progress.lines)  # within JOB_OUTPUT_BYTES
            fields.update(state=self.state, result=self.result, output=output)
            fields["progress"] = self.progress.saved()
        _retried(lambda: Job.objects.filter(pk=self.job_id).update(**fields))

    def _set(self, state: str, result: str = "") -> None:
        with self.lock:
            self.state, self.result = state, result
            self.progress.version += 1


def _stop(process: subprocess.Popen) -> None:
    """Stops a process a job runs, and those it started (its own process group)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # closed already
        sock.shutdown(socket.SHUT_RDWR)


ENDED = (Job.DONE, Job.FAILED, Job.CANCELLED)
HOST = socket.gethostname()
# This process: its pid, and when it started, as a pid may be used again after a restart.
RUNNER = f"{HOST}:{os.getpid()}:{int(time.time())}"
Work = Callable[[Run], str]
_runs: dict[int, Run] = {}
_keys: dict[Hashable, Run] = {}
_lock = threading.RLock()  # start() settles jobs (which takes it) while holding it
WAIT_SECONDS = 0.25
ACTIVE = (Job.QUEUED, Job.RUNNING)


def start(
    *,
    user,
    engine: Engine,
    kind: str,
    target: str,
    command: str,
    work: Work,
    key: Hashable | None = None,
    cleanup: Callable[[], None] | None = None,
    team: str = "",
) -> Job:
    """Starts `work` as a job, or returns the running job with the same `key` (a second
    pull of the same image joins the first instead of starting another). `cleanup` runs
    once the job is over, however it ended, even cancelled before it started (an uploaded
    file the job was to send is deleted); at once if this joined a running job. `team`: the
    team of the object the job makes or changes, for its audit entry."""
    with _lock:
        running = _keys.get(key) if key is not None else None
        if running is not None:
            if cleanup is not None:
                cleanup()
            return Job.objects.get(pk=running.job_id)
        if reason := _over_quota(user):
            if cleanup is not None:
                cleanup()
            raise TooMany(reason)
        job = Job.objects.create(
            user=user,
            username=user.get_username(),
            engine=engine.slug,
            kind=kind,
            target=target[:512],
            command=cli.on_engine(command, engine, default=settings.BERTH_DEFAULT_ENGINE),
            runner=RUNNER,
            team=team,
        )
        run = Run(job.pk, key, engine, user, kind, target, command, _cleanup=cleanup, team=team)
        run.progress = Progress(settings.JOB_OUTPUT_BYTES)
        _runs[job.pk] = run
        if key is not None:
            _keys[key] = run
    thread = threading.Thread(
        target=_run, args=(run, work), name=f"berth-job-{job.pk}", daemon=True
    )
    thread.start()
    return job


def _over_quota(user) -> str:
    """Why `user` may not start another job now; "" if they may. Jobs of a process that is
    gone are settled first: they hold no slot."""
    active = [settled(job) for job in Job.objects.filter(user=user, state__in=ACTIVE)]
    active = [job for job in active if not job.ended]
    most = settings.MAX_RUNNING_JOBS_PER_USER + settings.MAX_QUEUED_JOBS_PER_USER
    if len(active) < most:
        return ""
    return (
        f"You have {len(active)} jobs running or waiting, the most one user may have "
        f"({settings.MAX_RUNNING_JOBS_PER_USER} running, {settings.MAX_QUEUED_JOBS_PER_USER} "
        "waiting): wait for one to end, or cancel one."
    )


def _claim_slot(run: "Run") -> bool:
    """Marks the job running if a slot is free for it and it is next in line: no more than
    MAX_JOBS_PER_ENGINE running on its engine nor MAX_RUNNING_JOBS_PER_USER for its user,
    and among the waiting jobs whose user may start one, none of a user with fewer running,
    nor older of one with as many. Decided in one write transaction: its first statement is
    a write, which SQLite lets one connection at a time make, so two processes cannot both
    take the last slot."""
    for job in Job.objects.filter(state__in=ACTIVE).exclude(pk__in=list(_runs)):
        settled(job)  # a job of a process that is gone holds no slot
    with transaction.atomic():
        claimed = Job.objects.filter(pk=run.job_id, state=Job.QUEUED)
        if not claimed.update(state=Job.QUEUED):
            return False
        running = Job.objects.filter(engine=run.engine.slug, state=Job.RUNNING)
        if running.count() >= settings.MAX_JOBS_PER_ENGINE:
            return False
        per_user = dict(running.values("user").annotate(n=Count("pk")).values_list("user", "n"))
        # Users whose jobs ran least lately go first: the newest job of theirs that ran.
        ran_last = dict(
            Job.objects.filter(engine=run.engine.slug, state__in=(Job.RUNNING, *ENDED))
            .values("user")
            .annotate(last=Max("pk"))
            .values_list("user", "last")
        )
        limit = settings.MAX_RUNNING_JOBS_PER_USER
        waiting = Job.objects.filter(engine=run.engine.slug, state=Job.QUEUED)
        candidates = [
            (per_user.get(user_id, 0), ran_last.get(user_id, 0), pk)
            for pk, user_id in waiting.order_by("pk").values_list("pk", "user")
            if per_user.get(user_id, 0) < limit
        ]
        if not candidates or min(candidates)[2] != run.job_id:
            return False
        return bool(claimed.update(state=Job.RUNNING))


def settled(job: Job) -> Job:
    """The job as it stands: one the database says runs, in a process of this host that is
    gone (Berth was stopped or restarted meanwhile), is marked failed, as interrupted."""
    if job.ended:
        return job
    host, _, rest = job.runner.partition(":")
    pid = int(rest.partition(":")[0] or 0)
    with _lock:
        if job.pk in _runs or host != HOST or (pid != os.getpid() and _alive(pid)):
            return job
        result = "interrupted: Berth stopped while it ran"
        changed = Job.objects.filter(
            pk=job.pk, state__in=(Job.QUEUED, Job.RUNNING), runner=job.runner
        ).update(state=Job.FAILED, result=result, finished=timezone.now())
    if changed:
        audit.write(
            user=job.user,
            username=job.username,
            engine=job.engine,
            action=job.kind,
            target=job.target,
            command=job.command,
            succeeded=False,
            message=result,
            team=job.team,
        )
    job.refresh_from_db()
    return job


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid > 0


def visible_to(user):
    """The jobs `user` may see (access.owns): their own; a superuser's, everyone's."""
    found = Job.objects.all()
    return found if user.is_superuser else found.filter(user=user)


def find(user, job_id: int) -> Job | None:
    """The job if `user` may see it, else None, as if there were no such job."""
    job = Job.objects.filter(pk=job_id).first()
    return job if job is not None and access.owns(user, job.user_id) else None


def snapshot(job: Job) -> dict:
    """The whole of a job as a page first draws it: live if it runs here, else its row."""
    run = _runs.get(job.pk)
    if run is not None:
        update, _ = run.since(-1, 0)
        return {"layers": {}, "output": [], **update}
    progress = job.progress or {}
    return {
        "skipped": progress.get("skipped", 0),
        "state": job.state,
        "result": job.result,
        "percent": progress.get("percent", 0.0),
        "layers": progress.get("layers", {}),
        "output": job.output.split("\n") if job.output else [],
    }


def live(job_id: int) -> Run | None:
    """The job's run if it is running (or queued) in this process."""
    return _runs.get(job_id)


def cancel(job_id: int) -> bool:
    """Cancels a running or queued job; False if it is not running here."""
    run = _runs.get(job_id)
    if run is None:
        return False
    run.cancel()
    return True


def _run(run: Run, work: Work) -> None:
    try:
        close_old_connections()
        while not _retried_claim(run):
            if run.cancelled.wait(WAIT_SECONDS):
                _end(run, Job.CANCELLED, "cancelled before it started")
                return
        _work(run, work)
    finally:
        with _lock:
            _runs.pop(run.job_id, None)
            if run.key is not None and _keys.get(run.key) is run:
                del _keys[run.key]
        _cleaned(run)  # if the job's end could not be recorded
        connection.close()


def _retried_claim(run: Run) -> bool:
    try:
        return _claim_slot(run)
    except OperationalError:  # the database is busy: asked again at the next turn
        return False


def _cleaned(run: Run) -> None:
    """Runs the job's cleanup, once."""
    cleanup, run._cleanup = run._cleanup, None
    if cleanup is None:
        return
    try:
        cleanup()
    except Exception:  # what a job leaves behind must not hide how it ended
        log.exception("cleaning up after job %s failed", run.job_id)


def _work(run: Run, work: Work) -> None:
    close_old_connections()
    run._set(Job.RUNNING)
    try:
        run._save()
        result = work(run)
    except Cancelled:
        _end(run, Job.CANCELLED, "cancelled")
    except (StreamError, EngineError) as error:
        if run.cancelled.is_set():
            _end(run, Job.CANCELLED, "cancelled")
        else:
            _end(run, Job.FAILED, getattr(error, "reason", str(error)))
    except Exception as error:  # a job must end as failed, whatever went wrong in it
        log.exception("job %s (%s %s) failed", run.job_id, run.kind, run.target)
        _end(run, Job.FAILED, f"failed: {error}")
    else:
        with run.lock:
            run.progress.finish()
        _end(run, Job.DONE, result)


def _end(run: Run, state: str, result: str) -> None:
    _cleaned(run)  # before the job shows as ended: whoever sees it ended sees it cleaned up
    # The audit trail (who, what, the command line and how it ended), also before the job
    # shows as ended, so whoever sees it ended finds its entry.
    _retried(
        lambda: audit.write(
            user=run.user,
            username=run.user.get_username(),
            engine=run.engine.slug,
            action=run.kind,
            target=run.target,
            command=run.command,
            succeeded=state == Job.DONE,
            message=result if state != Job.DONE else "",
            team=run.team,
        )
    )
    run._set(state, result)
    run._save(finished=timezone.now())


def _retried(write: Callable[[], object], attempts: int = 5) -> None:
    """A job's write, tried again while the database is busy: SQLite lets one writer in at
    a time, and a job that cannot record its end would look as if it ran for ever."""
    for attempt in range(attempts):
        try:
            write()
            return
        except OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
