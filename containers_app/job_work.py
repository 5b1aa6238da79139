"""What each kind of job does, step by step, in the job's thread (see jobs.py). Each returns
a work function: it follows the engine's streams into the job's progress and returns the
line its job ends with."""

from collections.abc import Callable, Mapping, Sequence

from containers_app import image_origins
from containers_app.engine import Engine, EngineError
from containers_app.engine import containers as engine_containers
from containers_app.engine import images as engine_images
from containers_app.engine import recreate as engine_recreate
from containers_app.engine.convert import short_id
from containers_app.engine.raw import Messages
from containers_app.engine.recreate import RecreatePlan
from containers_app.engine.specs import ContainerSpec
from containers_app.jobs import Run, Work
from containers_app.streams.progress import StreamError
from containers_app.teams import team_locked
from containers_app.uploads import Payload


def pull(
    *,
    engine: Engine,
    repository: str,
    tag: str,
    auth: Mapping[str, str] | None,
    teams: Sequence[str] = (),
) -> Work:
    """`docker pull`; the image is then recorded as brought by `teams`."""
    transfer = _transfer(
        "Pulled",
        lambda: engine_images.image_pull(engine=engine, repository=repository, tag=tag, auth=auth),
    )

    def work(run: Run) -> str:
        said = transfer(run)
        _record(engine, [f"{repository}:{tag}"], teams, image_origins.PULL)
        return said

    return work


def _record(engine: Engine, references: Sequence[str], teams: Sequence[str], how: str) -> None:
    """Records the images `references` (names or ids) name now as made or brought by `teams`."""
    for reference in references:
        try:
            image_id = engine_images.image_id_of(engine=engine, reference=reference)
        except EngineError:
            continue  # gone already: nothing to record
        image_origins.origin_record(engine=engine, image_id=image_id, teams=teams, how=how)


def push(*, engine: Engine, repository: str, tag: str, auth: Mapping[str, str] | None) -> Work:
    return _transfer(
        "Pushed",
        lambda: engine_images.image_push(engine=engine, repository=repository, tag=tag, auth=auth),
    )


def _transfer(done: str, stream: Callable[[], Messages]) -> Work:
    """A pull or a push: the engine's stream followed to its end, then the digest."""

    def work(run: Run) -> str:
        run.follow(stream())
        digest = run.progress.digest
        return f"{done} {run.target}" + (f", digest {digest}" if digest else "")

    return work


def pull_then_run(
    *,
    engine: Engine,
    repository: str,
    tag: str,
    auth: Mapping[str, str] | None,
    spec: ContainerSpec,
    teams: Sequence[str] = (),
    maximum_refusal: Callable[[], str] | None = None,
) -> Work:
    """`docker run` of an image the engine does not have: pulled first, as the CLI does (and
    recorded as brought by `teams`). The container is made under the team's lock, after
    `maximum_refusal` says the team is still under its maximum: other runs went on meanwhile."""

    def work(run: Run) -> str:
        run.follow(
            engine_images.image_pull(engine=engine, repository=repository, tag=tag, auth=auth)
        )
        _record(engine, [f"{repository}:{tag}"], teams, image_origins.PULL)
        run.say(f"Pulled {spec.image}; creating the container.")
        run.check()
        with team_locked(teams[0] if teams else ""):
            if maximum_refusal and (reason := maximum_refusal()):
                raise EngineError(f"{reason} The image was pulled; no container was made.")
            container_id = engine_containers.container_run(engine=engine, spec=spec)
        return f"Started container {spec.name or short_id(container_id)} ({short_id(container_id)})"

    return work


def commit(
    *,
    engine: Engine,
    container_id: str,
    repository: str,
    tag: str,
    message: str,
    author: str,
    pause: bool,
    changes: Sequence[str],
    teams: Sequence[str] = (),
) -> Work:
    """`docker commit`: the image is recorded as made by `teams` (the container's team)."""

    def work(run: Run) -> str:
        reference = f"{repository}:{tag}"
        run.say(f"Committing {run.target} as {reference}" + (" (paused meanwhile)" * pause))
        image_id = engine_containers.container_commit(
            engine=engine,
            container_id=container_id,
            repository=repository,
            tag=tag,
            message=message,
            author=author,
            pause=pause,
            changes=changes,
            on_connect=run.connected,
        )
        image_origins.origin_record(
            engine=engine, image_id=image_id, teams=teams, how=image_origins.COMMIT
        )
        run.say(f"Image {image_id}")
        return f"Committed {run.target} as {reference}: image {short_id(image_id)} ({image_id})"

    return work


def recreate(
    *,
    engine: Engine,
    plan: RecreatePlan,
    pull: tuple[str, str] | None,
    auth: Mapping[str, str] | None,
    teams: Sequence[str] = (),
) -> Work:
    """Pulls `pull` (repository, tag) first if given (a failed pull changes nothing), then
    recreates the container (engine/recreate.py: any failure after that puts the original
    back)."""

    def work(run: Run) -> str:
        if pull:
            repository, tag = pull
            run.say(f"Pulling {plan.image}")
            try:
                run.follow(
                    engine_images.image_pull(
                        engine=engine, repository=repository, tag=tag, auth=auth
                    )
                )
            except (StreamError, EngineError) as error:
                reason = getattr(error, "reason", str(error))
                raise EngineError(
                    f"The pull of {plan.image} failed: {reason}; nothing was changed"
                ) from error
            _record(engine, [f"{repository}:{tag}"], teams, image_origins.PULL)
        new_id = engine_recreate.container_recreate(
            engine=engine, plan=plan, say=run.say, check=run.check
        )
        return f"Recreated {plan.name} from {plan.image}: container {short_id(new_id)}"

    return work


def build(
    *,
    engine: Engine,
    spec: engine_images.BuildSpec,
    context: Payload,
    auth: Mapping[str, Mapping[str, str]] | None,
    teams: Sequence[str] = (),
) -> Work:
    """`docker build`: sends the context, follows the build's output; the image is recorded
    as made by `teams`. The context's file, if it has one, is the job's to delete (jobs.start's
    cleanup)."""

    def work(run: Run) -> str:
        run.say(f"Sending the build context to the engine ({context.size:,} bytes)")
        with context.open() as body:
            messages = engine_images.image_build(
                engine=engine,
                spec=spec,
                context=body,
                size=context.size,
                auth=auth,
                on_connect=run.connected,
            )
        run.follow(messages)
        if not run.progress.image_id:
            raise EngineError("the engine's answer ended before the build did")
        image_origins.origin_record(
            engine=engine, image_id=run.progress.image_id, teams=teams, how=image_origins.BUILD
        )
        tagged = f", tagged {', '.join(spec.tags)}" if spec.tags else ""
        return f"Successfully built {short_id(run.progress.image_id)}{tagged}"

    return work


LOADED = ("Loaded image: ", "Loaded image ID: ")


def load(*, engine: Engine, tar: Payload, teams: Sequence[str] = ()) -> Work:
    """`docker load`: sends the tar and says what it loaded, in the engine's words; what it
    loaded is recorded as brought by `teams`."""

    def work(run: Run) -> str:
        run.say(f"Sending the tar to the engine ({tar.size:,} bytes)")
        with tar.open() as body:
            messages = engine_images.image_load(
                engine=engine, tar=body, size=tar.size, on_connect=run.connected
            )
        try:
            run.follow(messages)
        except StreamError as error:
            if "/repositories: no such file" not in str(error):
                raise
            raise StreamError(
                "this tar is not an image archive as docker save writes one: it has neither "
                "manifest.json nor repositories"
            ) from error
        loaded = [line for line in run.progress.lines if line.startswith(LOADED)]
        if not loaded:
            raise EngineError("the engine loaded nothing from this tar")
        references = [line.split(": ", 1)[1].strip() for line in loaded]
        _record(engine, references, teams, image_origins.LOAD)
        return "; ".join(loaded)

    return work
