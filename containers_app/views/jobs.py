"""Job pages: the running and recent pulls, pushes, builds and loads, one job live, and
cancelling one. A user sees their own jobs; superusers see everyone's."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from containers_app import jobs
from containers_app.models import Job
from containers_app.views.common import can_change, can_view

RECENT = 100


def job_of(request: HttpRequest, job_id: int) -> Job:
    """The job if this user may see it; a 404 otherwise, as if there were no such job."""
    job = jobs.find(request.user, job_id)
    if job is None:
        raise Http404("No such job.")
    return jobs.settled(job)


@can_view
@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    found = [jobs.settled(job) for job in jobs.visible_to(request.user)[:RECENT]]
    running = [job for job in found if not job.ended]
    for job in running:
        run = jobs.live(job.pk)
        job.percent = run.progress.percent if run else (job.progress or {}).get("percent", 0)
    return render(request, "jobs/list.html", {"jobs": found, "running": running})


@can_view
@require_GET
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = job_of(request, job_id)
    now = jobs.snapshot(job)
    kept = "\n".join(now["output"])
    # As the page's script says it when the socket reports lines it did not send.
    now["output"] = f"… {now['skipped']} lines not kept …\n{kept}" if now.get("skipped") else kept
    return render(request, "jobs/detail.html", {"job": job, "now": now})


@can_change
@require_POST
def job_cancel(request: HttpRequest, job_id: int) -> HttpResponse:
    job = job_of(request, job_id)
    if jobs.cancel(job.pk):
        messages.success(request, f"Cancelling {job.kind} {job.target}.")
    else:
        messages.info(request, f"{job.kind} {job.target} is not running: it is {job.state}.")
    return redirect("jobs:detail", job_id=job.pk)
