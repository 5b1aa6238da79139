"""What each kind of job does, step by step, in the job's thread (see jobs.py). Each returns
a work function: it follows the engine's streams into the job's progress and returns the
line its job ends with."""

from collections.abc import Mapping

from containers_app.engine import Engine
from containers_app.engine import images as engine_images
from containers_app.jobs import Run, Work


def pull(*, engine: Engine, repository: str, tag: str, auth: Mapping[str, str] | None) -> Work:
    def work(run: Run) -> str:
        run.follow(
            engine_images.image_pull(engine=engine, repository=repository, tag=tag, auth=auth)
        )
        digest = run.progress.digest
        return f"Pulled {run.target}" + (f", digest {digest}" if digest else "")

    return work


def push(*, engine: Engine, repository: str, tag: str, auth: Mapping[str, str] | None) -> Work:
    def work(run: Run) -> str:
        run.follow(
            engine_images.image_push(engine=engine, repository=repository, tag=tag, auth=auth)
        )
        digest = run.progress.digest
        return f"Pushed {run.target}" + (f", digest {digest}" if digest else "")

    return work
