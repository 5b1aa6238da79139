"""Following a job a test started through a page, to its end."""

from containers_app.models import Job
from tests.conftest import wait_on_condition


def job_of(response, *, timeout: float = 120) -> Job:
    """The job a POST redirected to, once it has ended."""
    assert response.status_code == 302, response.content[:500]
    job_id = int(response["Location"].rstrip("/").rsplit("/", 1)[1])
    wait_on_condition(lambda: Job.objects.get(pk=job_id).ended, timeout=timeout)
    return Job.objects.get(pk=job_id)
