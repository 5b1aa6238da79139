"""Job pages: the running and recent pulls, pushes, builds and loads, one job live, and
cancelling one. A user sees their own jobs; superusers see everyone's."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from containers_app import access, jobs
from containers_app.models import Job
from containers_app.views.common import can_change, can_view

RECENT = 100


def visible_jobs(user):
    found = Job.objects.all()
    return found if user.is_superuser else found.filter(user=user)


def job_of(request: HttpRequest, job_id: int) -> Job:
    """The job if this user may see it; a 404 otherwise, as if there were no such job."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None or not access.owns(request.user, job.user_id):
        raise Http404("No such job.")
    return jobs.settled(job)


def current(job: Job) -> dict:
    """What the job page shows first: the live progress if the job runs here, else the row."""
    run = jobs.live(job.pk)
    if run is None:
        progress = job.progress or {}
        return {
            "state": job.state,
            "result": job.result,
            "percent": progress.get("percent", 100.0 if job.state == Job.DONE else 0.0),
            "layers": progress.get("layers", {}),
            "output": job.output,
        }
    update, _ = run.since(-1, 0)
    return {
        **update,
        "output": "\n".join(update.get("output", ())),
        "layers": update.get("layers", {}),
    }


@can_view
@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    found = [jobs.settled(job) for job in visible_jobs(request.user)[:RECENT]]
    running = [job for job in found if not job.ended]
    for job in running:
        run = jobs.live(job.pk)
        job.percent = run.progress.percent if run else (job.progress or {}).get("percent", 0)
    return render(request, "jobs/list.html", {"jobs": found, "running": running})


@can_view
@require_GET
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = job_of(request, job_id)
    return render(request, "jobs/detail.html", {"job": job, "now": current(job)})


@can_change
@require_POST
def job_cancel(request: HttpRequest, job_id: int) -> HttpResponse:
    job = job_of(request, job_id)
    if jobs.cancel(job.pk):
        messages.success(request, f"Cancelling {job.kind} {job.target}.")
    else:
        messages.info(request, f"{job.kind} {job.target} is not running: it is {job.state}.")
    return redirect("jobs:detail", job_id=job.pk)
