"""Compose applications: what Berth deploys with the real Docker Compose, and the compose
projects it finds on the engines. An application's YAML and .env are kept (the .env
encrypted); every deploy is a Revision, with the images each service ended up running and
the configuration hash its containers carry. Whether files may be deployed is
compose_checks.py's; a found project's files, compose_imports.py's.
"""

import contextlib
import subprocess
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Max

from containers_app import (
    access,
    compose_files,
    credentials,
    jobs,
)
from containers_app.compose_checks import Invalid
from containers_app.engine import Engine, EngineError, compose
from containers_app.engine import containers as engine_containers
from containers_app.engine import images as engine_images
from containers_app.engine.containers import ContainerSummary
from containers_app.models import Application, Job, ProjectAssignment, Revision, Team

APPLICATION = "application"
SERVICE_LABEL = "com.docker.compose.service"
HASH_LABEL = "com.docker.compose.config-hash"
# What compose is asked for each action; `down` may add --volumes.
COMMANDS = {
    "deploy": ("up", "-d", "--remove-orphans"),
    "pull": ("pull",),
    "stop": ("stop",),
    "start": ("start",),
    "restart": ("restart",),
    "down": ("down", "--remove-orphans"),
}


def redeploy_args(service: str) -> tuple[str, ...]:
    """One service made again from the current files; the others left as they are."""
    return ("up", "-d", "--no-deps", "--force-recreate", service)


# Who may do each: viewers look, operators start and stop, admins change.
NEEDS = {
    "deploy": access.ADMINISTER,
    "pull": access.ADMINISTER,
    "stop": access.OPERATE,
    "start": access.OPERATE,
    "restart": access.OPERATE,
    "down": access.ADMINISTER,
    "redeploy": access.ADMINISTER,
    "rollback": access.ADMINISTER,
    "edit": access.ADMINISTER,
}


def target(app: Application | None = None, *, team: str | None = None) -> access.Target:
    """What access is asked about: the application's team's object."""
    slug = team if app is None else (app.team.slug if app.team else None)
    return access.Target(APPLICATION, team=slug)


def env_of(app: Application | Revision) -> str:
    """The .env text, decrypted. Raises Invalid if the current BERTH_CREDENTIALS_KEY cannot
    decrypt it (the key was changed or lost)."""
    try:
        return credentials.decrypt(app.env) if app.env else ""
    except credentials.CredentialUnreadable as error:
        raise Invalid(
            "The .env stored for this application cannot be decrypted with the current "
            "BERTH_CREDENTIALS_KEY: save the application's .env again."
        ) from error


# --- Applications ---------------------------------------------------------------------------


def application_create(
    *, by, engine: Engine, name: str, team: Team | None, compose_text: str, env_text: str
) -> Application:
    """Records a new application (deploy_work deploys it). Raises Invalid if the name was
    taken meanwhile."""
    return _recorded(by=by, engine=engine, name=name, team=team, compose=compose_text, env=env_text)


def application_adopt(
    *,
    by,
    engine: Engine,
    name: str,
    team: Team | None,
    compose_text: str,
    env_text: str,
    project_directory: str,
) -> Application:
    """A compose project found on `engine` recorded as an application of `team` (its files
    from compose_imports); nothing running changes until it is deployed. Raises Invalid if
    it is one already."""
    return _recorded(
        by=by,
        engine=engine,
        name=name,
        team=team,
        compose=compose_text,
        env=env_text,
        project_directory=project_directory,
        adopted=True,
    )


def _recorded(*, by, engine: Engine, name: str, team: Team | None, env: str, **fields):
    """The application's row, its .env encrypted, and its project handed to its team (its
    containers, networks and volumes are the team's, as compose makes them)."""
    with transaction.atomic():
        if Application.objects.filter(engine=engine.slug, name=name).exists():
            raise Invalid(f"{name} is an application on this engine already.")
        app = Application.objects.create(
            engine=engine.slug,
            name=name,
            team=team,
            env=credentials.encrypt(env) if env else "",
            created_by=by,
            **fields,
        )
        if team is not None:
            ProjectAssignment.objects.update_or_create(
                engine=engine.slug, project=name, defaults={"team": team}
            )
    return app


def application_edit(*, app: Application, compose_text: str, env_text: str) -> None:
    """Changes what the next deploy takes; nothing running changes now."""
    app.compose = compose_text
    app.env = credentials.encrypt(env_text) if env_text else ""
    app.save(update_fields=["compose", "env", "updated"])


def revision_start(
    *,
    app: Application,
    by,
    action: str,
    service: str = "",
    rollback_of: Revision | None = None,
) -> Revision:
    """A new revision of `app`: its current files (a rollback's: those of `rollback_of`,
    with the images it ran pinned)."""
    source = rollback_of or app
    with transaction.atomic():
        number = (app.revisions.aggregate(n=Max("number"))["n"] or 0) + 1
        return Revision.objects.create(
            application=app,
            number=number,
            user=by,
            username=by.get_username(),
            action=action,
            service=service,
            rollback_of=rollback_of.number if rollback_of else None,
            compose=source.compose,
            env=source.env,
            pinned=pins_of(rollback_of),
        )


def pins_of(revision: Revision | None) -> dict[str, str]:
    """The image id each service of `revision` ran, which a rollback to it runs again."""
    return {s: i["id"] for s, i in revision.images.items()} if revision else {}


def files_of(revision: Revision, team: str) -> compose.Files:
    """The files compose is given for `revision`, with Berth's override."""
    env_text = env_of(revision)
    app = revision.application
    config = compose.config(
        app.name,
        compose.Files(revision.compose, env_text),
        project_directory=app.project_directory,
    )
    override = compose_files.override(config, team, pinned=revision.pinned)
    return compose.Files(revision.compose, env_text, override)


def _workspace(run: jobs.Run, engine: Engine, app: Application, files: compose.Files):
    """The job's private folder for compose, with the registry logins of whoever started it."""
    return compose.workspace(
        engine,
        app.name,
        files,
        project_directory=app.project_directory,
        auths=credentials.registry_auths(run.user),
    )


def deploy_work(revision: Revision, engine: Engine, args: Iterable[str], files: compose.Files):
    """The job that runs `docker compose <args>` on `files` (checked: check_files) for
    `revision` and records how it ended and what each service runs afterwards, even when it
    failed part-way: each service's image, and the configuration hash compose labels its
    containers with (which revision each service runs is told by it)."""
    app = revision.application

    def work(run: jobs.Run) -> str:
        with _workspace(run, engine, app, files) as space:
            try:
                compose.run(space, list(args), on_line=run.say, on_start=run.stoppable)
            except Exception as error:
                # Which containers were made again is not known: compose says each
                # service's hash of these files.
                with contextlib.suppress(EngineError, subprocess.SubprocessError):
                    revision.hashes = compose.service_hashes(space)
                _ended(revision, engine, Revision.FAILED, getattr(error, "reason", str(error)))
                raise
        _ended(revision, engine, Revision.DEPLOYED)
        return f"revision {revision.number} deployed"

    return work


def _ended(revision: Revision, engine: Engine, state: str, result: str = "") -> None:
    """Records how `revision` ended and what runs; deployed, its services' containers carry
    its configuration's hashes (a redeploy's: only its service's)."""
    images, hashes = _running(engine, revision.application.name)
    if state == Revision.DEPLOYED:
        revision.hashes = {
            service: digest
            for service, digest in hashes.items()
            if not revision.service or service == revision.service
        }
    revision.state, revision.result, revision.images = state, result, images
    revision.save(update_fields=["state", "result", "images", "hashes"])


def running_job(app: Application) -> Job | None:
    """A compose job of `app` still running or waiting (another must not run beside it:
    two `up`s of one project race), if any. One of a process that is gone is settled as
    interrupted first (jobs.settled), and does not count."""
    for job in Job.objects.filter(
        engine=app.engine, target=app.name, kind__startswith="app ", state__in=jobs.ACTIVE
    ):
        if not jobs.settled(job).ended:
            return job
    return None


def revision_settled(revision: Revision) -> None:
    """A revision whose job ended without running it (cancelled while it waited) is failed,
    not running for ever."""
    Revision.objects.filter(pk=revision.pk, state=Revision.RUNNING).update(
        state=Revision.FAILED, result="its job ended before it ran"
    )


def deployed_files(app: Application) -> Revision:
    """What runs: the application's last deployed revision, else its current files (as an
    unsaved revision)."""
    deployed = app.revisions.filter(state=Revision.DEPLOYED).first()
    return deployed or Revision(application=app, compose=app.compose, env=app.env)


def action_work(app: Application, engine: Engine, args: Iterable[str]):
    """The job that runs `docker compose <args>` (pull, stop, start, restart, down) on the
    files of the application's last deployed revision (what runs), else its current ones."""
    team = app.team.slug if app.team else ""

    def work(run: jobs.Run) -> str:
        files = files_of(deployed_files(app), team)
        with _workspace(run, engine, app, files) as space:
            compose.run(space, list(args), on_line=run.say, on_start=run.stoppable)
        return "done"

    return work


def _running(engine: Engine, project: str) -> tuple[dict[str, dict], dict[str, str]]:
    """What each service of `project` runs, from one list of its containers: its image's
    name, id and digest (a local image has none), and its configuration hash."""
    images: dict[str, dict] = {}
    hashes: dict[str, str] = {}
    try:
        rows = engine_containers.container_list(
            engine=engine, all=True, label=f"{access.PROJECT_LABEL}={project}"
        )
    except EngineError:  # the engine went away: what runs is not known
        return images, hashes
    digests: dict[str, str] = {}
    for row in rows:
        service = row.labels.get(SERVICE_LABEL)
        if not service or service in images:
            continue
        if row.image_id not in digests:
            digests[row.image_id] = _digest_of(engine, row.image_id)
        images[service] = {"image": row.image, "id": row.image_id, "digest": digests[row.image_id]}
        hashes[service] = row.labels.get(HASH_LABEL, "")
    return images, hashes


def services_of(app: Application, project: "Project") -> list[str]:
    """The services of its YAML (as written) and of its containers."""
    try:
        written = list(compose_files.parse(app.compose).get("services") or {})
    except compose_files.Unreadable:
        written = []
    return sorted(set(written) | set(project.services))


def _digest_of(engine: Engine, image_id: str) -> str:
    """The image's registry digest ("" for a local image, or one removed since)."""
    try:
        digests = engine_images.image_inspect(engine=engine, image_id=image_id).digests
    except EngineError:
        return ""
    return digests[0] if digests else ""


# --- What runs ------------------------------------------------------------------------------


@dataclass
class Project:
    """A compose project on an engine, as its containers' labels say: an application of
    Berth's, or one found there (started with the compose CLI)."""

    engine: Engine
    name: str
    containers: list[ContainerSummary] = field(default_factory=list)
    app: Application | None = None
    # Why its containers are not known (its engine did not answer): its state is unknown.
    problem: str = ""

    @property
    def services(self) -> list[str]:
        return sorted({c.labels.get(SERVICE_LABEL, "") for c in self.containers} - {""})

    def of_service(self, service: str) -> list[ContainerSummary]:
        return [c for c in self.containers if c.labels.get(SERVICE_LABEL) == service]

    @property
    def running(self) -> int:
        return sum(1 for c in self.containers if c.state == "running")

    @property
    def state(self) -> str:
        """running, partly running, stopped, failing (a container restarting or exited
        with an error), not deployed, or unknown (its engine did not answer)."""
        if self.problem:
            return "unknown"
        if not self.containers:
            return "not deployed"
        states = Counter(c.state for c in self.containers)
        if states["restarting"] or any(_crashed(c) for c in self.containers):
            return "failing"
        if self.running == len(self.containers):
            return "running"
        return "partly running" if self.running else "stopped"


def _crashed(container: ContainerSummary) -> bool:
    return container.state == "exited" and "Exited (0)" not in container.status


def projects_on(
    engine: Engine,
    containers: list[ContainerSummary],
    apps: Iterable[Application],
    *,
    problem: str = "",
) -> list[Project]:
    """Every compose project among `containers` and every application of `apps` on
    `engine` (deployed or not), by name; `problem`: why the engine's containers are not
    known."""
    found: dict[str, Project] = {}
    for container in containers:
        name = container.labels.get(access.PROJECT_LABEL)
        if name:
            found.setdefault(name, Project(engine, name)).containers.append(container)
    for app in apps:
        if app.engine == engine.slug:
            found.setdefault(app.name, Project(engine, app.name, problem=problem)).app = app
    return [found[name] for name in sorted(found)]


def visible_projects(actor: access.Actor, projects: list[Project]) -> list[Project]:
    """The projects `actor` may see: an application of a team they are in; a found
    project, with the containers of it they may see (none: not shown)."""
    shown = []
    for project in projects:
        if project.app is not None:
            if access.allowed(actor, access.VIEW, target(project.app)):
                shown.append(project)
            continue
        mine = access.visible(actor, access.CONTAINER, project.containers)
        if mine:
            shown.append(Project(project.engine, project.name, mine))
    return shown


def owner_of(actor: access.Actor, project: Project) -> str:
    if project.app is not None:
        return project.app.team.slug if project.app.team else ""
    owners = {
        access.owner(actor, access.target_of(access.CONTAINER, c)) for c in project.containers
    }
    return ", ".join(sorted(o for o in owners if o))


def revision_services(project: Project, revisions: list[Revision]) -> dict[str, int | None]:
    """Which revision each service's containers run, by compose's configuration hash (None:
    none of the recorded revisions: changed outside Berth, or never deployed)."""
    by_hash: dict[tuple[str, str], int] = {}
    for revision in sorted(revisions, key=lambda r: r.number):
        for service, digest in (revision.hashes or {}).items():
            if revision.state == Revision.DEPLOYED or (service == revision.service):
                by_hash[(service, digest)] = revision.number
            else:
                by_hash.setdefault((service, digest), revision.number)
    running: dict[str, int | None] = {}
    for container in project.containers:
        service = container.labels.get(SERVICE_LABEL, "")
        digest = container.labels.get(HASH_LABEL, "")
        running[service] = by_hash.get((service, digest))
    return running
