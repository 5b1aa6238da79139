"""Shared fixtures: the private test engine, signed-in clients and objects cleaned up after."""

import contextlib
import json
import os
import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from containers_app.engine import Engine

PREFIX = "berthtest-"
# A container command that stops at once on SIGTERM: sh as PID 1 ignores it unless it traps it.
STOPPABLE = ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
# The team the signed-in test users belong to, and whose label `make` puts on what it makes.
HOME_TEAM = "berth-tests"
# The test registries listen on the test engine's own loopback, which a team's policy must
# list by name for its pulls, pushes and logins to reach them; and Docker Hub, which tests
# name (a pull there fails: no registry on the internet is reached).
TEST_REGISTRIES = "127.0.0.1:*\ndocker.io"
OTHER_TEAM = "berth-others"
TEAM_LABEL = "berth.team"
TEST_IMAGE = os.environ.get("BERTH_TEST_IMAGE", "berth-test/busybox:latest")
ENGINE_DIR = Path(os.environ.get("BERTH_ENGINE_DIR", "/tmp/berth-engine"))


def test_docker_host() -> str:
    """The engine tests use: BERTH_TEST_DOCKER_HOST, or the private one `make test` starts.
    Never DOCKER_HOST, which may be the user's own engine."""
    return os.environ.get("BERTH_TEST_DOCKER_HOST") or f"unix://{ENGINE_DIR / 'docker.sock'}"


def unique(kind: str = "") -> str:
    return f"{PREFIX}{kind}{'-' if kind else ''}{secrets.token_hex(4)}"


def wait_on_condition(condition: Callable[[], bool], *, timeout: float = 15, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout} s")


@pytest.fixture(autouse=True)
def _test_engine(settings) -> None:
    settings.DOCKER_HOST = test_docker_host()
    settings.DOCKER_TIMEOUT = 30
    # Test users' passwords need no real hashing; a real hash took seconds on a busy machine.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(tmp_path_factory) -> None:
    """The test database in a file, not SQLite's shared in-memory one: jobs, terminals and
    sign-in checks write from threads of their own, and a shared in-memory database answers
    "table is locked" at once where a file waits its turn."""
    from django.conf import settings

    folder = tmp_path_factory.mktemp("database")
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = str(folder / "test.sqlite3")


@pytest.fixture(autouse=True)
def _jobs_ended() -> Iterator[None]:
    """A job a test started is over before the next test: its thread writes to the
    database, which the next test's setup empties."""
    yield
    from containers_app import jobs

    for job_id in list(jobs._runs):
        jobs.cancel(job_id)
    wait_on_condition(lambda: not jobs._runs, timeout=30)


@pytest.fixture(scope="session")
def docker_api() -> Iterator[docker.APIClient]:
    """A raw client of the test engine, for arranging and checking what tests need."""
    api = docker.APIClient(base_url=test_docker_host(), version="auto", timeout=60)
    yield api
    api.close()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker) -> None:
    """The default engine the first migrate registered, pointed at the test engine (its
    address was DOCKER_HOST's when the test database was made)."""
    from containers_app.models import Engine as EngineRow

    with django_db_blocker.unblock():
        EngineRow.objects.filter(slug="local").update(address=test_docker_host())


@pytest.fixture
def engine() -> Engine:
    return Engine(slug="local", base_url=test_docker_host(), timeout=30, every_team=True)


REGISTRY_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "test-registry"


@dataclass(frozen=True)
class Registry:
    """A registry the test engine reaches on its own 127.0.0.1 (scripts/test-registry); the
    test process itself cannot reach it, being outside the engine's network namespace."""

    address: str
    username: str = ""
    password: str = ""


@pytest.fixture(scope="session")
def _registries() -> dict:
    """What scripts/test-registry wrote. `make test` has started the registries; otherwise
    (pytest run by hand after `scripts/test-engine start`) this starts them. `start` returns at
    once when both already answer and restarts them when they do not, so a file left by a
    dead run is never trusted."""
    started = subprocess.run(
        [str(REGISTRY_SCRIPT), "start"],
        env={**os.environ, "BERTH_ENGINE_DIR": str(ENGINE_DIR)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if started.returncode != 0:
        pytest.fail(f"scripts/test-registry start failed: {started.stderr}", pytrace=False)
    return json.loads((ENGINE_DIR / "registries.json").read_text())


@pytest.fixture(scope="session")
def registry(_registries) -> Registry:
    """A registry anyone may pull from and push to."""
    return Registry(address=_registries["registry"]["address"])


@pytest.fixture(scope="session")
def auth_registry(_registries) -> Registry:
    """A registry that wants `username` and `password` (htpasswd) for everything."""
    found = _registries["auth_registry"]
    return Registry(
        address=found["address"], username=found["username"], password=found["password"]
    )


class Made:
    """Makes test objects with prefixed random names and force-removes them afterwards."""

    def __init__(self, api: docker.APIClient) -> None:
        self.api = api
        self.containers: list[str] = []
        self.networks: list[str] = []
        self.volumes: list[str] = []
        self.images: list[str] = []

    def container(
        self,
        *,
        command: str | list[str] = "sleep 600",
        state: str = "running",
        name: str | None = None,
        image: str = TEST_IMAGE,
        team: str | None = HOME_TEAM,
        **host_config,
    ) -> dict:
        """A container in `state`: created, running, paused or exited, owned by `team` (None:
        by no team). Returns its inspect."""
        name = name or unique("c")
        labels = owned(host_config.pop("labels", None), team)
        volumes = host_config.get("binds")
        ports = host_config.get("port_bindings")
        created = self.api.create_container(
            image,
            command=command,
            name=name,
            labels=labels,
            volumes=[b.split(":")[1] for b in volumes] if volumes else None,
            ports=list(ports) if ports else None,
            host_config=self.api.create_host_config(**host_config),
            networking_config=None,
        )
        container_id = created["Id"]
        self.containers.append(container_id)
        if state in ("running", "paused", "exited"):
            self.api.start(container_id)
        if state == "paused":
            self.api.pause(container_id)
        if state == "exited":
            self.api.stop(container_id, timeout=0)
        return self.api.inspect_container(container_id)

    def network(self, name: str | None = None, *, team: str | None = HOME_TEAM, **options) -> dict:
        name = name or unique("n")
        options["labels"] = owned(options.get("labels"), team)
        created = self.api.create_network(name, **options)
        self.networks.append(created["Id"])
        return self.api.inspect_network(created["Id"])

    def volume(self, name: str | None = None, *, team: str | None = HOME_TEAM, **options) -> dict:
        options["labels"] = owned(options.get("labels"), team)
        volume = self.api.create_volume(name=name or unique("v"), **options)
        self.volumes.append(volume["Name"])
        return volume

    def image(self, *tags: str, dockerfile_line: str = "") -> str:
        """A new image on top of the test image (distinct id), tagged with each of `tags`."""
        import io

        marker = secrets.token_hex(4)
        dockerfile = f"FROM {TEST_IMAGE}\nLABEL berth.test={marker}\n{dockerfile_line}\n"
        tag = tags[0] if tags else None
        output = list(
            self.api.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True, decode=True)
        )
        errors = [line for line in output if "error" in line]
        assert not errors, errors
        image_id = next(
            line["aux"]["ID"] for line in output if "aux" in line and "ID" in line["aux"]
        )
        for extra in tags[1:]:
            repository, _, tag_name = extra.rpartition(":")
            self.api.tag(image_id, repository, tag_name)
        self.images.append(image_id)
        return image_id

    def cleanup(self) -> None:
        for container_id in self.containers:
            _quietly(lambda c=container_id: self.api.remove_container(c, force=True, v=True))
        for network_id in self.networks:
            _quietly(lambda n=network_id: self.api.remove_network(n))
        for volume in self.volumes:
            _quietly(lambda v=volume: self.api.remove_volume(v, force=True))
        for image_id in self.images:
            _quietly(lambda i=image_id: self.api.remove_image(i, force=True))


def owned(labels: dict | None, team: str | None) -> dict | None:
    """`labels` with the ownership label of `team` (None: no team) added."""
    if team is None:
        return labels
    return {TEAM_LABEL: team, **(labels or {})}


def _quietly(call: Callable[[], object]) -> None:
    with contextlib.suppress(docker.errors.NotFound):
        call()


@pytest.fixture
def make(docker_api) -> Iterator[Made]:
    made = Made(docker_api)
    yield made
    made.cleanup()


@pytest.fixture
def projects(docker_api):
    """Compose project names for a test; each project's objects are removed after it."""
    from tests.engine.apps_helpers import Projects

    made = Projects(docker_api)
    yield made
    made.cleanup()


def member(username: str, team: str, role: str, **flags):
    """A new user with `role` in `team` (made if missing)."""
    from containers_app.models import Membership, Team

    user = get_user_model().objects.create_user(username=username, password="x", **flags)
    found, _ = Team.objects.get_or_create(
        slug=team, defaults={"name": team, "registries": TEST_REGISTRIES}
    )
    Membership.objects.create(user=user, team=found, role=role)
    return user


@pytest.fixture
def admin_user(db):
    """A superuser: every team's objects and the host's own rights."""
    return get_user_model().objects.create_user(
        username="admin-" + secrets.token_hex(3), password="x", is_staff=True, is_superuser=True
    )


@pytest.fixture
def staff_user(db):
    """An admin of the home team: runs, changes and removes the home team's objects."""
    return member("staff-" + secrets.token_hex(3), HOME_TEAM, "admin", is_staff=True)


@pytest.fixture
def operator_user(db):
    return member("operator-" + secrets.token_hex(3), HOME_TEAM, "operator")


@pytest.fixture
def viewer_user(db):
    """A viewer of the home team: looks at its objects, changes nothing."""
    return member("viewer-" + secrets.token_hex(3), HOME_TEAM, "viewer")


@pytest.fixture
def other_admin_user(db):
    """An admin of another team, who must not see the home team's objects."""
    return member("other-" + secrets.token_hex(3), OTHER_TEAM, "admin")


def client_of(user) -> Client:
    """A test client signed in as `user`."""
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_client(admin_user) -> Client:
    return client_of(admin_user)


@pytest.fixture
def staff_client(staff_user) -> Client:
    return client_of(staff_user)


@pytest.fixture
def viewer_client(viewer_user) -> Client:
    return client_of(viewer_user)


@pytest.fixture
def operator_client(operator_user) -> Client:
    return client_of(operator_user)


@pytest.fixture
def other_admin_client(other_admin_user) -> Client:
    return client_of(other_admin_user)


@pytest.fixture
def holding():
    """Starts jobs that hold their slot until released: `holding(user, engine)`; all are
    released at the end."""
    import threading

    from containers_app import jobs

    release = threading.Event()

    def hold(run) -> str:
        run.say("holding the slot")
        while not release.wait(0.05):
            run.check()
        return "released"

    def start(user, engine, name: str = "slot"):
        return jobs.start(
            user=user, engine=engine, kind="test", target=name, command="true", work=hold
        )

    start.release = release
    yield start
    release.set()


@pytest.fixture
def blocker(engine, staff_user, holding):
    """A job that holds its engine's only slot until released: `blocker(settings)` starts it,
    and the jobs started after it wait, queued."""

    def start(limit_settings):
        limit_settings.MAX_JOBS_PER_ENGINE = 1
        return holding(staff_user, engine)

    start.release = holding.release
    return start


@pytest.fixture
def htmx() -> dict:
    """Headers htmx sends, for requests that want partials."""
    return {"HTTP_HX_REQUEST": "true"}


def pytest_terminal_summary(terminalreporter) -> None:
    from tests import route_matrix

    for line in route_matrix.summary():
        terminalreporter.write_line(line)


def made_by(image_id: str, team: str = HOME_TEAM, *, engine: str = "local") -> None:
    """Records `image_id` as made by `team` on `engine` (the test engine), as a build
    through Berth would: images made with the engine's API directly have no origin Berth
    knows of."""
    from containers_app.models import ImageOrigin

    ImageOrigin.objects.get_or_create(
        engine=engine, image_id=image_id, team=team, defaults={"how": "build"}
    )


# --- the TLS and SSH engines of scripts/test-remote-engines ----------------------------------


def remote_engine(name: str) -> str:
    """What scripts/test-remote-engines says of its engines (`make test` exports it)."""
    value = os.environ.get(f"BERTH_TEST_{name}")
    assert value, f"BERTH_TEST_{name} is not set: run the suite with make test"
    return value


def remote_credentials(kind: str, *, wrong: bool = False):
    """What Berth is given to reach the "tls" or "ssh" test engine; `wrong`: a client
    certificate of another CA, or a host key other than the engine's."""
    from containers_app import engines

    if kind == "tls":
        folder = Path(remote_engine("TLS_DIR"))
        prefix = "other-" if wrong else ""
        return engines.Credentials(
            tls_ca=(folder / "ca.pem").read_text(),
            tls_cert=(folder / f"{prefix}cert.pem").read_text(),
            tls_key=(folder / f"{prefix}key.pem").read_text(),
        )
    pinned = "SHA256:" + "A" * 43 if wrong else remote_engine("SSH_HOST_KEY")
    key = Path(remote_engine("SSH_KEY")).read_text()
    return engines.Credentials(ssh_key=key, ssh_host_key=pinned)
