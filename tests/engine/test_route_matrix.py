"""Who may reach what, for every route there is: generated from the URL conf and the
websocket routes, so a route added without a rule here fails the suite instead of being open.

Each HTTP route is asked GET and POST by every kind of person: someone signed out, a wall
screen (its cookie only), a viewer, an operator and an admin of the home team, an admin of
another team, and a superuser. Where
a route takes an object, it is a real one of the home team made for the case (a container,
network, volume, image, job, registry login, team member), so the rules are tested on the
objects they guard. A POST that would change something is aimed at the case's own objects
(or its body is one no form accepts), and what it did is checked: carried out for those let
through, left as it was for everyone else. Each websocket route is asked by the same people,
from the site's own origin and from another port, scheme and host.
"""

import io
import re
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field

import docker.errors
import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from containers_app import tickets
from containers_app.engine import containers as engine_containers
from containers_app.views.common import AccessMiddleware
from dashboard.routing import websocket_urlpatterns
from tests import conftest, route_matrix
from tests.conftest import (
    HOME_TEAM,
    OTHER_TEAM,
    STOPPABLE,
    TEST_IMAGE,
    Made,
    member,
    remote_credentials,
    remote_engine,
    unique,
    wait_on_condition,
)
from tests.engine.apps_helpers import remove_project
from tests.engine.sockets import stop_shared_upstreams

pytestmark = pytest.mark.django_db(transaction=True)

# --- What a person gets from a route ---------------------------------------------------------

LOGIN = "sent to sign in"
THROUGH = "let through"
REFUSED = "refused (403)"
HIDDEN = "answered as if the object did not exist (404)"
METHOD = "answered 405"
ANYTHING = "anything but a server error"
# A form's page (GET) to someone who may not send it: shown (with nothing they may choose) or
# refused; either way nothing changes.
SHOWN_OR_REFUSED = "shown or refused"
# Refused by the route (403), or by the form's own check that they are no team's admin (400):
# either way nothing is made.
REFUSED_OR_FORM = "refused (403), or told by the form that they may not (400)"
# A bulk action answers for each of its objects: one the person may not touch is left alone.
UNTOUCHED = "answered, and the object left as it was"

PEOPLE = ("anonymous", "screen", "viewer", "operator", "admin", "other_admin", "superuser")
# The team each person creates things for (the form's team field).
TEAM_OF = {
    "anonymous": HOME_TEAM,
    "screen": HOME_TEAM,
    "viewer": HOME_TEAM,
    "operator": HOME_TEAM,
    "admin": HOME_TEAM,
    "other_admin": OTHER_TEAM,
    "superuser": HOME_TEAM,
}


def rule(
    *,
    viewer: str,
    operator: str,
    admin: str,
    other_admin: str,
    superuser: str,
    anonymous: str = LOGIN,
    screen: str = LOGIN,
) -> dict[str, str]:
    """What each person gets; `admin` and the others of the home team, `other_admin` an admin
    of another team, the object (if any) the home team's. A screen is no user: the pages of
    users send it to sign in."""
    return {
        "anonymous": anonymous,
        "screen": screen,
        "viewer": viewer,
        "operator": operator,
        "admin": admin,
        "other_admin": other_admin,
        "superuser": superuser,
    }


def everyone_signed_in(outcome: str) -> dict[str, str]:
    return rule(
        viewer=outcome, operator=outcome, admin=outcome, other_admin=outcome, superuser=outcome
    )


PUBLIC = {who: ANYTHING for who in PEOPLE}
# Any signed-in user, whatever their team: lists, the host's pages.
VIEW = everyone_signed_in(THROUGH)
# A route refused to those who may change nothing at all (viewers), before its object is known;
# a GET of a POST-only route is then answered 405.
CHANGE = rule(
    viewer=REFUSED, operator=THROUGH, admin=THROUGH, other_admin=THROUGH, superuser=THROUGH
)
NO_SUCH_METHOD = everyone_signed_in(METHOD)
SUPERUSER = rule(
    viewer=REFUSED, operator=REFUSED, admin=REFUSED, other_admin=REFUSED, superuser=THROUGH
)
# A superuser's POST route asked with GET: refused to others before the method is looked at.
SUPERUSER_POST = rule(
    viewer=REFUSED, operator=REFUSED, admin=REFUSED, other_admin=REFUSED, superuser=METHOD
)
# Superusers and team admins (access.audit_scope).
AUDITORS = rule(
    viewer=REFUSED, operator=REFUSED, admin=THROUGH, other_admin=THROUGH, superuser=THROUGH
)
# The home team's object, looked at.
SEE = rule(viewer=THROUGH, operator=THROUGH, admin=THROUGH, other_admin=HIDDEN, superuser=THROUGH)
# The home team's object, started, stopped, a terminal opened in it.
OPERATE = rule(
    viewer=REFUSED, operator=THROUGH, admin=THROUGH, other_admin=HIDDEN, superuser=THROUGH
)
# The home team's object, removed, committed, recreated, copied.
ADMINISTER = rule(
    viewer=REFUSED, operator=REFUSED, admin=THROUGH, other_admin=HIDDEN, superuser=THROUGH
)
# Something new made for the person's own team.
CREATE = rule(
    viewer=REFUSED,
    operator=REFUSED_OR_FORM,
    admin=THROUGH,
    other_admin=THROUGH,
    superuser=THROUGH,
)
# The page of a form that makes something new.
CREATE_FORM = rule(
    viewer=REFUSED,
    operator=SHOWN_OR_REFUSED,
    admin=THROUGH,
    other_admin=THROUGH,
    superuser=THROUGH,
)
# Images are the host's: any team's admin adds them, or removes one no other team uses.
IMAGE_ADMINISTER = rule(
    viewer=REFUSED, operator=REFUSED, admin=THROUGH, other_admin=THROUGH, superuser=THROUGH
)
IMAGE_USED_BY_HOME = rule(
    viewer=REFUSED, operator=REFUSED, admin=THROUGH, other_admin=REFUSED, superuser=THROUGH
)
# An image's layers hold whatever it holds, secrets included: the team that made it (its
# operators and admins, SEE_SECRETS) and superusers; the case's image is the home team's.
IMAGE_SECRETS = rule(
    viewer=REFUSED, operator=THROUGH, admin=THROUGH, other_admin=REFUSED, superuser=THROUGH
)
# A bulk action answers each selected object: refusals are recorded with its team.
BULK_OPERATE = rule(
    viewer=UNTOUCHED, operator=THROUGH, admin=THROUGH, other_admin=UNTOUCHED, superuser=THROUGH
)
BULK_ADMINISTER = rule(
    viewer=UNTOUCHED, operator=UNTOUCHED, admin=THROUGH, other_admin=UNTOUCHED, superuser=THROUGH
)
# What the home team's admin made for themselves (a job, a registry login).
OWN = rule(viewer=HIDDEN, operator=HIDDEN, admin=THROUGH, other_admin=HIDDEN, superuser=THROUGH)
OWN_CHANGE = rule(
    viewer=REFUSED, operator=HIDDEN, admin=THROUGH, other_admin=HIDDEN, superuser=THROUGH
)
# The home team itself: its page, its members, its compose projects.
TEAM_MEMBERS = SEE
TEAM_ADMINS = ADMINISTER
TEAM_SUPERUSER = rule(
    viewer=REFUSED, operator=REFUSED, admin=REFUSED, other_admin=HIDDEN, superuser=THROUGH
)
# Screens are managed by superusers and team admins; a screen of the home team is its admins'.
SCREEN_MANAGERS = AUDITORS
SCREEN_OF_HOME = ADMINISTER
# A screen's secret link opens it for whoever holds it; the wall (/screen/) shows only with
# the cookie the link gave, and is "not valid" (404) to anyone else; both are GET only.
SCREEN_LINK = {who: THROUGH for who in PEOPLE}
SCREEN_WALL = {who: HIDDEN for who in PEOPLE} | {"screen": THROUGH}
ONLY_GET = {who: METHOD for who in PEOPLE}
# A wall's live tiles: its screen's only.
SCREEN_ONLY = {who: REFUSED for who in PEOPLE} | {"screen": THROUGH}

ACTIONS = engine_containers.ACTIONS
REMOVALS = ("remove", "force_remove")


# A compose application's actions: its operators start, stop and restart it.
APP_ACTIONS = {
    action: OPERATE if action in ("start", "stop", "restart") else ADMINISTER
    for action in ("deploy", "pull", "stop", "start", "restart", "down")
}


def by_action(operate: dict, administer: dict) -> dict[str, dict]:
    return {action: administer if action in REMOVALS else operate for action in ACTIONS}


# What each route allows, by method (and, for some, by variant: the action, or which image).
# A new route must be added here, or this test fails.
EXPECTED = {
    "home": {"GET": PUBLIC, "POST": PUBLIC},
    "login": {"GET": PUBLIC, "POST": PUBLIC},
    "logout": {"GET": PUBLIC, "POST": PUBLIC},
    "containers:list": {"GET": VIEW, "POST": NO_SUCH_METHOD},
    "containers:bulk": {"GET": NO_SUCH_METHOD, "POST": by_action(BULK_OPERATE, BULK_ADMINISTER)},
    "containers:detail": {"GET": SEE, "POST": NO_SUCH_METHOD},
    "containers:logs": {"GET": SEE, "POST": NO_SUCH_METHOD},
    "containers:logs-download": {"GET": SEE, "POST": NO_SUCH_METHOD},
    "containers:exec": {"GET": OPERATE, "POST": OPERATE},
    "containers:action": {"GET": NO_SUCH_METHOD, "POST": by_action(OPERATE, ADMINISTER)},
    "containers:run": {"GET": CREATE_FORM, "POST": CREATE},
    "containers:run-preview": {"GET": CHANGE, "POST": CREATE_FORM},
    "containers:run-similar": {"GET": ADMINISTER, "POST": NO_SUCH_METHOD},
    "containers:commit": {"GET": NO_SUCH_METHOD, "POST": ADMINISTER},
    "containers:recreate": {"GET": NO_SUCH_METHOD, "POST": ADMINISTER},
    "images:list": {"GET": VIEW, "POST": NO_SUCH_METHOD},
    "images:detail": {"GET": VIEW, "POST": NO_SUCH_METHOD},
    "images:remove": {
        "GET": CHANGE,
        "POST": {"unused": IMAGE_ADMINISTER, "used by the home team": IMAGE_USED_BY_HOME},
    },
    "images:tag": {"GET": CHANGE, "POST": IMAGE_ADMINISTER},
    "images:prune": {"GET": CHANGE, "POST": SUPERUSER},
    "images:save": {"GET": IMAGE_SECRETS, "POST": CHANGE},
    "images:pull": {"GET": CREATE_FORM, "POST": IMAGE_ADMINISTER},
    "images:build": {"GET": CREATE_FORM, "POST": IMAGE_ADMINISTER},
    "images:load": {"GET": CREATE_FORM, "POST": IMAGE_ADMINISTER},
    "images:push": {"GET": CHANGE, "POST": IMAGE_ADMINISTER},
    "jobs:list": {"GET": VIEW, "POST": NO_SUCH_METHOD},
    "jobs:detail": {"GET": OWN, "POST": NO_SUCH_METHOD},
    "jobs:cancel": {"GET": CHANGE, "POST": OWN_CHANGE},
    "networks:list": {"GET": VIEW, "POST": CREATE},
    "networks:detail": {"GET": SEE, "POST": NO_SUCH_METHOD},
    "networks:remove": {"GET": NO_SUCH_METHOD, "POST": ADMINISTER},
    "volumes:list": {"GET": VIEW, "POST": CREATE},
    "volumes:detail": {"GET": SEE, "POST": NO_SUCH_METHOD},
    "volumes:remove": {"GET": NO_SUCH_METHOD, "POST": ADMINISTER},
    "registries:list": {"GET": CHANGE, "POST": CHANGE},
    "registries:logout": {"GET": CHANGE, "POST": OWN_CHANGE},
    "merged-logs": {"GET": SEE, "POST": NO_SUCH_METHOD},
    "stats": {"GET": VIEW, "POST": NO_SUCH_METHOD},
    "system:info": {"GET": VIEW, "POST": NO_SUCH_METHOD},
    "teams:list": {"GET": VIEW, "POST": SUPERUSER},
    "teams:detail": {"GET": TEAM_MEMBERS, "POST": NO_SUCH_METHOD},
    "teams:members": {"GET": NO_SUCH_METHOD, "POST": TEAM_ADMINS},
    "teams:policy": {"GET": NO_SUCH_METHOD, "POST": TEAM_SUPERUSER},
    "teams:member-remove": {"GET": NO_SUCH_METHOD, "POST": TEAM_ADMINS},
    "teams:projects": {"GET": NO_SUCH_METHOD, "POST": TEAM_SUPERUSER},
    "teams:project-remove": {"GET": NO_SUCH_METHOD, "POST": TEAM_SUPERUSER},
    "audit:list": {"GET": AUDITORS, "POST": NO_SUCH_METHOD},
    "audit:export": {"GET": AUDITORS, "POST": NO_SUCH_METHOD},
    "screens:list": {"GET": SCREEN_MANAGERS, "POST": SCREEN_MANAGERS},
    "screens:rotate": {"GET": NO_SUCH_METHOD, "POST": SCREEN_OF_HOME},
    "screens:revoke": {"GET": NO_SUCH_METHOD, "POST": SCREEN_OF_HOME},
    "screens:open": {"GET": SCREEN_LINK, "POST": ONLY_GET},
    "screen": {"GET": SCREEN_WALL, "POST": ONLY_GET},
    "engines:list": {"GET": VIEW, "POST": SUPERUSER},
    "engines:all-containers": {"GET": VIEW, "POST": NO_SUCH_METHOD},
    "engines:host-key": {"GET": SUPERUSER_POST, "POST": SUPERUSER},
    "engines:test": {"GET": SUPERUSER_POST, "POST": SUPERUSER},
    "engines:grant": {"GET": SUPERUSER_POST, "POST": SUPERUSER},
    "engines:remove": {"GET": SUPERUSER_POST, "POST": SUPERUSER},
    "apps:list": {"GET": VIEW, "POST": NO_SUCH_METHOD},
    "apps:new": {"GET": CREATE_FORM, "POST": CREATE},
    "app:detail": {"GET": SEE, "POST": NO_SUCH_METHOD},
    "app:action": {"GET": NO_SUCH_METHOD, "POST": APP_ACTIONS},
    "app:redeploy": {"GET": NO_SUCH_METHOD, "POST": ADMINISTER},
    "app:edit": {"GET": NO_SUCH_METHOD, "POST": ADMINISTER},
    "app:rollback": {"GET": NO_SUCH_METHOD, "POST": ADMINISTER},
    "app:diff": {"GET": SEE, "POST": NO_SUCH_METHOD},
    "app:adopt": {"GET": NO_SUCH_METHOD, "POST": TEAM_SUPERUSER},
}
# Values for the parameters of a route that has no object made for it below.
SAMPLE = {
    "ref": "berthtest-matrix-none",
    "action": "stop",
    "job_id": 999999,
    "credential_id": 999999,
    "slug": "berthtest-matrix-none",
    "username": "berthtest-matrix-none",
    "project": "berthtest-matrix-none",
    "screen_id": 999999,
    "token": "berthtest-matrix-none-token",
}
IMAGE_SAMPLE = {"ref": "0123456789ab"}
# A body no form accepts, for a route with nothing made for it below.
INVALID_BODY = {"name": "not a valid name!", "action": "stop", "target": "NOT VALID", "all": "?"}
# Where an image pushed or pulled by a case goes: a port the engine's own loopback refuses at
# once, so the job fails without reaching any registry.
NOWHERE = "127.0.0.1:1"


def http_routes(patterns=None, namespace: str = "") -> list[tuple[str, URLPattern]]:
    """(namespaced name, pattern) of every route but the admin's, which checks for itself."""
    routes = []
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin":
                continue
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            routes += http_routes(entry.url_patterns, inner)
        else:
            routes.append((f"{namespace}{entry.name}", entry))
    return routes


# Today's addresses (/containers/...) are the default engine's pages, under this namespace.
DEFAULT_ENGINE_ROUTES = "default-engine:"
# The same routes under /engines/<slug>/ are asked of a second engine, a dockerd of its own
# reached over TCP with TLS (scripts/test-remote-engines), with the case's objects made there.
SECOND_ENGINE = "matrix-second"


def base_name(name: str) -> str:
    """The route's name whichever engine's address it has: its rule is the same."""
    return name.removeprefix(DEFAULT_ENGINE_ROUTES)


def url_of(name: str, pattern: URLPattern, values: dict | None = None) -> str:
    # The engine's slug is in the prefix of /engines/<slug>/..., not in the pattern's own.
    names = [*pattern.pattern.regex.groupindex, *(["engine"] if needs_engine(name) else [])]
    names += ["name"] if name.startswith(APP_ROUTES) else []
    samples = IMAGE_SAMPLE if base_name(name).startswith("images:") else SAMPLE
    samples = {**samples, "engine": SECOND_ENGINE}
    return reverse(name, kwargs={key: {**samples, **(values or {})}[key] for key in names})


def needs_engine(name: str) -> bool:
    on_both = not name.startswith(DEFAULT_ENGINE_ROUTES) and name in ENGINE_ROUTES
    return on_both or name.startswith(APP_ROUTES)


# A compose application's pages, under its engine's address only: asked of the second engine.
APP_ROUTES = "app:"


ROUTES = http_routes()
# The routes about one engine: under /engines/<slug>/, and again at today's addresses.
ENGINE_ROUTES = {base_name(name) for name, _ in ROUTES if name.startswith(DEFAULT_ENGINE_ROUTES)}


def test_every_route_has_a_rule_in_the_matrix():
    names = {base_name(name) for name, _ in ROUTES}
    assert sorted(names) == sorted(EXPECTED), "add the new route to EXPECTED, with its rule"


def test_every_engine_route_is_also_at_today_s_address_for_the_default_engine():
    names = [name for name, _ in ROUTES]
    for name in ENGINE_ROUTES:
        assert name in names and DEFAULT_ENGINE_ROUTES + name in names


def test_every_rule_says_what_each_person_gets():
    for name, methods in EXPECTED.items():
        for method, found in methods.items():
            rules = found.values() if isinstance(next(iter(found.values())), dict) else [found]
            for each in rules:
                assert set(each) == set(PEOPLE), f"{name} {method}"


# --- The objects of the case ----------------------------------------------------------------


@dataclass
class Asked:
    """One request of the matrix: its path, its body, and (for a change) whether it was
    carried out. `happens`: whether a change let through is carried out (False where the
    engine itself refuses it, as an image in use)."""

    path: str
    data: dict | None = None
    done: Callable[[], bool] | None = None
    happens: bool = True
    files: dict = field(default_factory=dict)


class Scene:
    """The home team's objects a case asks about, made for it and removed after it, on the
    engine its route is about (`slug`)."""

    def __init__(self, make, docker_api, users: dict, slug: str = "local") -> None:
        self.make = make
        self.api = docker_api
        self.users = users
        self.slug = slug
        self.projects: list[str] = []

    # Containers.
    def container(self, state: str = "running") -> dict:
        """A container of the home team, beside a decoy of another team named as its full id:
        a reference is found in the engine's order and acted on by the full id of what was
        checked, so no case may reach the decoy instead, nor the home one through it."""
        made = self.make.container(command=STOPPABLE, state=state)
        self.make.container(command=STOPPABLE, state="created", team=OTHER_TEAM, name=made["Id"])
        return made

    def container_state(self, container_id: str) -> dict | None:
        found = self.inspect("container", container_id)
        return found["State"] if found else None

    def inspect(self, kind: str, ref: str) -> dict | None:
        """The object `ref` names, or None; by a full id, only that object (asked by the id of
        a container that is gone, the engine answers with the decoy named as it)."""
        inspect = {
            "container": self.api.inspect_container,
            "image": self.api.inspect_image,
            "network": self.api.inspect_network,
            "volume": self.api.inspect_volume,
        }[kind]
        try:
            found = inspect(ref)
        except docker.errors.NotFound:
            return None
        if re.fullmatch(r"[0-9a-f]{64}", ref) and found.get("Id") != ref:
            return None
        return found

    def exists(self, kind: str, ref: str) -> bool:
        return self.inspect(kind, ref) is not None

    def removed_after(self, kind: str, ref: str) -> str:
        """`ref`, which the case may make: removed with the case's own objects."""
        {
            "container": self.make.containers,
            "image": self.make.images,
            "network": self.make.networks,
            "volume": self.make.volumes,
        }[kind].append(ref)
        return ref

    # Compose applications.
    def project(self) -> str:
        """A compose project name, its objects removed after the case."""
        name = unique("app")
        self.projects.append(name)
        return name

    def app(self, state: str = "running"):
        """An application of the home team, deployed (its one service in `state`)."""
        from types import SimpleNamespace

        from containers_app import applications, engines
        from containers_app.models import Team

        admin, engine = self.users["admin"], engines.get(self.slug)
        app = applications.application_create(
            by=admin,
            engine=engine,
            name=self.project(),
            team=Team.objects.get(slug=HOME_TEAM),
            compose_text=APP_YAML,
            env_text="",
        )
        revision = applications.revision_start(app=app, by=admin, action="deploy")
        files = applications.files_of(revision, HOME_TEAM)
        work = applications.deploy_work(revision, engine, applications.COMMANDS["deploy"], files)
        work(SimpleNamespace(user=admin, say=lambda text: None, stoppable=lambda process: None))
        if state == "exited":
            for container in self.app_containers(app.name):
                self.api.stop(container["Id"], timeout=0)
        return app

    def app_containers(self, name: str) -> list[dict]:
        return self.api.containers(
            all=True, filters={"label": f"com.docker.compose.project={name}"}
        )

    # The home admin's own things.
    def job(self):
        from containers_app.models import Job

        admin = self.users["admin"]
        return Job.objects.create(
            user=admin,
            username=admin.get_username(),
            engine="local",
            kind="pull",
            target="berthtest-matrix:latest",
            command="docker pull berthtest-matrix:latest",
            state=Job.DONE,
        )

    def credential(self):
        from containers_app import credentials

        return credentials.store(
            owner=self.users["admin"], server=NOWHERE, username="matrix", password="secret"
        )


APP_YAML = (
    f"services:\n  web:\n    image: {TEST_IMAGE}\n"
    "    command: [sh, -c, 'trap \"exit 0\" TERM; sleep 600 & wait']\n"
)


def app_routes(scene: Scene, name: str, url, variant, who: str) -> Asked:
    """An application of the home team, deployed on the case's engine, and what the route
    does to it."""
    from containers_app.models import Application

    if name == "apps:new":
        project = scene.project()
        body = {"name": project, "team": TEAM_OF[who], "engine": "local", "compose": APP_YAML}
        return Asked(url(), body, lambda: bool(scene.app_containers(project)))
    if name == "app:adopt":
        # A project found on the engine: a container of the home team labelled with it.
        project = scene.project()
        scene.make.container(command=STOPPABLE, labels={"com.docker.compose.project": project})
        adopted = Application.objects.filter(engine=scene.slug, name=project).exists
        return Asked(url(name=project), {"team": HOME_TEAM, "compose": APP_YAML}, adopted)
    app = scene.app("exited" if variant == "start" else "running")
    action = variant or "deploy"
    at = url(name=app.name, number=1, service="web", action=action)
    containers = lambda: scene.app_containers(app.name)  # noqa: E731
    first = scene.api.inspect_container(containers()[0]["Id"])
    if name == "app:action":
        done = {
            "deploy": lambda: app.revisions.count() == 2,
            "pull": None,  # the test image is in no registry: the pull fails, whoever asks
            "stop": lambda: containers()[0]["State"] == "exited",
            "start": lambda: containers()[0]["State"] == "running",
            "restart": lambda: started_again(scene, first),
            "down": lambda: containers() == [],
        }[action]
        return Asked(at, {}, done)
    if name == "app:redeploy":
        return Asked(at, {}, lambda: [c["Id"] for c in containers()] != [first["Id"]])
    if name == "app:edit":
        edited = APP_YAML + "    labels: {edited: 'yes'}\n"
        changed = lambda: type(app).objects.get(pk=app.pk).compose == edited  # noqa: E731
        return Asked(at, {"compose": edited, "env": ""}, changed)
    if name == "app:rollback":
        return Asked(at, {}, lambda: app.revisions.filter(action="rollback").exists())
    if name == "app:diff":
        return Asked(f"{at}?a=1&b=current")
    return Asked(at, {})


def started_again(scene: Scene, container: dict) -> bool:
    """Whether `container` (as listed before the case) runs, started since."""
    state = scene.api.inspect_container(container["Id"])["State"]
    return state["Running"] and state["StartedAt"] != container["State"]["StartedAt"]


def home_screen():
    """A wall screen of the home team, and its link's token."""
    from containers_app import screens
    from containers_app.models import Team

    home = Team.objects.get(slug=HOME_TEAM)
    return screens.screen_create(
        by=None, name=unique("screen"), team=home, on=[settings.BERTH_DEFAULT_ENGINE]
    )


# Each state the container of an action starts in, so the action has something to do.
STARTS_IN = {"start": "exited", "unpause": "paused", "remove": "exited"}


def action_done(scene: Scene, container: dict, action: str) -> Callable[[], bool]:
    """Whether `action` was carried out on `container`."""
    started_at = container["State"]["StartedAt"]

    def done() -> bool:
        state = scene.container_state(container["Id"])
        if action in REMOVALS:
            return state is None
        if state is None:
            return False
        return {
            "start": state["Running"],
            "stop": not state["Running"],
            "kill": not state["Running"],
            "restart": state["Running"] and state["StartedAt"] != started_at,
            "pause": state["Paused"],
            "unpause": state["Running"] and not state["Paused"],
        }[action]

    return done


def run_body(who: str, name: str) -> dict:
    return {
        "image": TEST_IMAGE,
        "name": name,
        "command": "sleep 600",
        "restart": "no",
        "detach": "on",
        "team": TEAM_OF[who],
    }


def asked(scene: Scene, full: str, pattern: URLPattern, method: str, variant, who: str) -> Asked:
    """The request of route `full` for this case, on objects made for it."""
    url = lambda **values: url_of(full, pattern, values)  # noqa: E731
    name = base_name(full)
    resource = name.split(":")[0]
    if name in ("containers:action", "containers:bulk"):
        action = variant or "stop"
        container = scene.container(STARTS_IN.get(action, "running"))
        done = action_done(scene, container, action)
        if name == "containers:bulk":
            return Asked(url(), {"action": action, "ids": container["Id"]}, done)
        return Asked(url(ref=container["Id"], action=action), {}, done)
    if name == "containers:commit":
        container = scene.container()
        repository = f"berthtest-matrix/{unique('commit')}"
        scene.removed_after("image", f"{repository}:v1")
        body = {"repository": repository, "tag": "v1"}
        return Asked(
            url(ref=container["Id"]), body, lambda: scene.exists("image", f"{repository}:v1")
        )
    if name == "containers:recreate":
        container = scene.container()
        scene.removed_after("container", container["Name"].lstrip("/"))
        return Asked(
            url(ref=container["Id"]), {}, lambda: not scene.exists("container", container["Id"])
        )
    if name in ("containers:run", "containers:run-preview"):
        new = scene.removed_after("container", unique("run"))
        # A preview runs nothing, whoever asks.
        happens = name == "containers:run"
        return Asked(url(), run_body(who, new), lambda: scene.exists("container", new), happens)
    if name == "containers:exec":
        return Asked(url(ref=scene.container()["Id"]), {"cmd": "sh"})
    if resource == "containers" and "ref" in pattern.pattern.regex.groupindex:
        return Asked(url(ref=scene.container()["Id"]), {})
    if name == "merged-logs":
        return Asked(f"{url()}?c={scene.container()['Id']}")
    if name == "images:remove":
        image = scene.make.image()
        if variant == "used by the home team":
            scene.make.container(image=image, state="created")
            return Asked(url(ref=image), {}, lambda: not scene.exists("image", image), False)
        return Asked(url(ref=image), {}, lambda: not scene.exists("image", image))
    if name in ("images:tag", "images:push"):
        image = scene.make.image()
        target = f"berthtest-matrix/{unique('tag')}:v1"
        key = "target"
        if name == "images:push":
            target, key = f"{NOWHERE}/{target}", "reference"
        tags = lambda: target in (scene.api.inspect_image(image)["RepoTags"] or [])  # noqa: E731
        return Asked(url(ref=image), {key: target}, tags)
    if name in ("images:detail", "images:save"):
        image = scene.make.image()
        conftest.made_by(image, HOME_TEAM, engine=scene.slug)
        return Asked(url(ref=image), {})
    if name == "images:pull":
        return Asked(url(), {"reference": f"{NOWHERE}/berthtest-matrix/none:latest"})
    if name == "images:build":
        tag = scene.removed_after("image", f"berthtest-matrix/{unique('build')}:v1")
        dockerfile = f"FROM {TEST_IMAGE}\nLABEL org.example.berthtest=matrix\n"
        return Asked(
            url(), {"dockerfile": dockerfile, "tag": tag}, lambda: scene.exists("image", tag)
        )
    if name == "images:load":
        return Asked(url(), {}, files={"input": not_an_image_tar()})
    if name in ("networks:list", "volumes:list") and method == "POST":
        kind = resource[:-1]
        new = scene.removed_after(kind, unique(kind[0]))
        body = {"name": new, "driver": "bridge" if kind == "network" else "local"}
        return Asked(url(), body | {"team": TEAM_OF[who]}, lambda: scene.exists(kind, new))
    if name in ("networks:detail", "networks:remove"):
        network = scene.make.network()
        return Asked(url(ref=network["Id"]), {}, lambda: not scene.exists("network", network["Id"]))
    if name in ("volumes:detail", "volumes:remove"):
        volume = scene.make.volume()["Name"]
        return Asked(url(ref=volume), {}, lambda: not scene.exists("volume", volume))
    if name in ("jobs:detail", "jobs:cancel"):
        return Asked(url(job_id=scene.job().pk), {})
    if name == "registries:logout":
        from containers_app.models import RegistryCredential

        credential = scene.credential()
        gone = lambda: not RegistryCredential.objects.filter(pk=credential.pk).exists()  # noqa: E731
        return Asked(url(credential_id=credential.pk), {}, gone)
    if name == "registries:list":
        return Asked(url(), {"server": "not a registry!", "username": "", "password": ""})
    if name == "teams:list":
        return Asked(url(), {"slug": "NOT A SLUG!"})
    if name == "teams:detail":
        return Asked(url(slug=HOME_TEAM), {})
    if name == "teams:members":
        return teams_members(scene, url(slug=HOME_TEAM))
    if name == "teams:member-remove":
        leaver = member(unique("leaver"), HOME_TEAM, "viewer")
        path = url(slug=HOME_TEAM, username=leaver.get_username())
        return Asked(path, {}, lambda: not leaver.memberships.exists())
    if name in ("teams:projects", "teams:project-remove"):
        return team_projects(name, url)
    if name == "teams:policy":
        from containers_app.models import Team

        capped = lambda: Team.objects.get(slug=HOME_TEAM).containers_max == 77  # noqa: E731
        return Asked(url(slug=HOME_TEAM), {"containers_max": "77"}, capped)
    if resource in ("apps", "app"):
        return app_routes(scene, name, url, variant, who)
    if resource == "screens" or name == "screen":
        return screen_routes(name, url, who)
    if name in ("engines:test", "engines:grant", "engines:remove"):
        return engine_routes(name, url)
    return Asked(url(), INVALID_BODY)


def engine_routes(name: str, url) -> Asked:
    """An engine made for the case (a socket nobody listens on: nothing is asked of it but
    by Test), granted to nobody; removing it is what a remove does."""
    from containers_app import engines
    from containers_app.models import Engine as EngineRow

    slug = unique("engine")
    engines.engine_add(slug=slug, address=f"unix:///nonexistent/{slug}.sock")
    if name == "engines:remove":
        return Asked(url(slug=slug), {}, lambda: not EngineRow.objects.filter(slug=slug).exists())
    if name == "engines:grant":
        granted = EngineRow.objects.filter(slug=slug, every_team=True).exists
        return Asked(url(slug=slug), {"every_team": "on"}, granted)
    return Asked(url(slug=slug), {})


def screen_routes(name: str, url, who: str) -> Asked:
    from containers_app.models import Screen

    if name == "screens:list":
        title = unique("wall")
        made = Screen.objects.filter(name=title).exists
        on = settings.BERTH_DEFAULT_ENGINE
        return Asked(url(), {"name": title, "team": TEAM_OF[who], "engines": on}, made)
    screen, token = home_screen()
    if name == "screens:rotate":
        rotated = lambda: Screen.objects.get(pk=screen.pk).token_hash != screen.token_hash  # noqa: E731
        return Asked(url(screen_id=screen.pk), {}, rotated)
    if name == "screens:revoke":
        revoked = lambda: Screen.objects.get(pk=screen.pk).revoked is not None  # noqa: E731
        return Asked(url(screen_id=screen.pk), {}, revoked)
    if name == "screens:open":
        return Asked(url(token=token), {})
    return Asked(url(), {})


def teams_members(scene: Scene, path: str) -> Asked:
    from django.contrib.auth import get_user_model

    joiner = get_user_model().objects.create_user(username=unique("joiner"), password="x")
    body = {"username": joiner.get_username(), "role": "viewer"}
    return Asked(path, body, lambda: joiner.memberships.filter(team__slug=HOME_TEAM).exists())


def team_projects(name: str, url) -> Asked:
    from containers_app.models import ProjectAssignment, Team

    project = unique("project")
    assigned = ProjectAssignment.objects.filter(engine="local", project=project)
    if name == "teams:projects":
        return Asked(url(slug=HOME_TEAM), {"project": project}, assigned.exists)
    home = Team.objects.get(slug=HOME_TEAM)
    ProjectAssignment.objects.create(engine="local", project=project, team=home)
    return Asked(url(slug=HOME_TEAM, project=project), {}, lambda: not assigned.exists())


def not_an_image_tar():
    """A tar the form takes (it is a tar) and the engine refuses to load (no image in it)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        text = b"not an image\n"
        info = tarfile.TarInfo("readme.txt")
        info.size = len(text)
        archive.addfile(info, io.BytesIO(text))
    return SimpleUploadedFile("berthtest-matrix.tar", buffer.getvalue(), "application/x-tar")


# --- Asking ---------------------------------------------------------------------------------


@pytest.fixture
def users(admin_user, staff_user, operator_user, viewer_user, other_admin_user) -> dict:
    return {
        "viewer": viewer_user,
        "operator": operator_user,
        "admin": staff_user,
        "other_admin": other_admin_user,
        "superuser": admin_user,
    }


@pytest.fixture
def wall_cookie(users) -> str:
    """The cookie a home team's screen's link is swapped for."""
    from containers_app import screens

    screen, _ = home_screen()
    return screens.cookie_value(screen)


@pytest.fixture
def people(users, wall_cookie) -> dict[str, Client]:
    from containers_app import screens

    clients = {"anonymous": Client(), "screen": Client()}
    clients["screen"].cookies[screens.COOKIE_NAME] = wall_cookie
    for who, user in users.items():
        clients[who] = Client()
        clients[who].force_login(user)
    return clients


@pytest.fixture
def second_engine():
    """The second engine, registered for every team for the case, and a client on its own
    socket for making and checking the case's objects there."""
    import docker as docker_sdk

    from containers_app import engines

    engines.engine_add(
        slug=SECOND_ENGINE,
        address=remote_engine("TLS_HOST"),
        given=remote_credentials("tls"),
        every_team=True,
    )
    api = docker_sdk.APIClient(base_url=remote_engine("TLS_SOCKET"), version="auto", timeout=60)
    yield api
    api.close()
    engines.engine_remove(slug=SECOND_ENGINE)


@pytest.fixture
def scenes(make, docker_api, users, second_engine):
    """The scene of a default engine's route, and of the same route on the second engine."""
    second = Made(second_engine)
    made = {
        "local": Scene(make, docker_api, users),
        SECOND_ENGINE: Scene(second, second_engine, users, slug=SECOND_ENGINE),
    }
    yield made
    for scene in made.values():
        for project in scene.projects:
            remove_project(scene.api, project)
    second.cleanup()


def scene_for(scenes: dict, name: str) -> Scene:
    return scenes[SECOND_ENGINE if needs_engine(name) else "local"]


def signed_out(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def job_ended(response) -> None:
    """If the answer is a job's page, waits for the job to end: its change is then done."""
    from containers_app.models import Job

    location = response.get("Location", "") if response.status_code == 302 else ""
    found = re.fullmatch(r"/jobs/(\d+)/", location)
    if found:
        wait_on_condition(lambda: Job.objects.get(pk=int(found[1])).ended, timeout=120)


def verdict(expected: str, response, done: bool | None, happens: bool) -> str | None:
    """What is wrong with `response` (and with `done`: whether its change was carried out,
    None if not checked) for a person who should get `expected`, or None."""
    status = response.status_code
    if status >= 500:
        return f"answered {status}"
    problem = _status_problem(expected, response)
    if problem:
        return problem
    if done is None:
        return None
    if expected == THROUGH and happens and not done:
        return "let through, but the change was not carried out"
    if done and (expected != THROUGH or not happens):
        return f"answered {status}, and the change was carried out"
    return None


def _status_problem(expected: str, response) -> str | None:
    status = response.status_code
    if expected == ANYTHING:
        return None
    if expected == LOGIN:
        return None if signed_out(response) else f"let someone signed out through ({status})"
    if signed_out(response):
        return "sent a signed-in user to sign in"
    if expected == METHOD:
        return None if status == 405 else f"answered {status}, not 405"
    if expected == REFUSED:
        return None if status == 403 else f"answered {status}, not 403"
    if expected == REFUSED_OR_FORM:
        return None if status in (400, 403) else f"answered {status}, not 403 or 400"
    if expected == HIDDEN:
        return None if status == 404 else f"answered {status}, not 404"
    if expected == SHOWN_OR_REFUSED:
        return None if status in (200, 403) else f"answered {status}, not 200 or 403"
    # THROUGH and UNTOUCHED: past the access checks, whatever the view then said.
    return f"refused ({status})" if status in (403, 404) else None


def rule_for(name: str, method: str, variant) -> dict[str, str]:
    found = EXPECTED.get(base_name(name), {}).get(method)
    assert found, f"{name} has no rule for {method} in EXPECTED"
    return found[variant] if variant is not None else found


def variants(name: str, method: str) -> list:
    found = EXPECTED.get(base_name(name), {}).get(method)
    if found and isinstance(next(iter(found.values())), dict):
        return list(found)
    return [None]


CASES = [
    (name, pattern, who, method, variant)
    for name, pattern in ROUTES
    for method in ("GET", "POST")
    for variant in variants(name, method)
    for who in PEOPLE
]


def case_id(name, who, method, variant) -> str:
    return "-".join(str(part) for part in (name, variant, who, method) if part is not None)


@pytest.mark.parametrize(
    ("name", "pattern", "who", "method", "variant"),
    CASES,
    ids=[case_id(name, who, method, variant) for name, _, who, method, variant in CASES],
)
def test_each_route_answers_each_person_as_its_rule_says(
    people, scenes, name, pattern, who, method, variant
):
    route_matrix.count("http", who)
    expected = rule_for(name, method, variant)[who]
    request = asked(scene_for(scenes, name), name, pattern, method, variant, who)
    client = people[who]
    if method == "GET":
        response = client.get(request.path)
    else:
        response = client.post(request.path, {**(request.data or {}), **request.files})
    job_ended(response)
    response.close()

    done = request.done() if request.done else None
    # Nothing changes on a GET, whoever asks.
    problem = verdict(expected, response, done, request.happens and method == "POST")

    assert problem is None, f"{method} {request.path} as {who}: {problem}"
    if method == "GET" and needs_engine(name):
        unnamed = commands_not_naming_the_engine(response, SECOND_ENGINE)
        assert not unnamed, f"GET {request.path} shows commands without its engine: {unnamed}"


# A command line a page shows: in a `cli` code element, a button's title, a confirmation.
SHOWN_COMMAND = re.compile(
    r'<code class="cli"[^>]*>([^<]*)</code>|(?:title|data-confirm)="(?:Run )?(docker [^"]*)"'
)


def commands_not_naming_the_engine(response, slug: str) -> list[str]:
    """The `docker` commands an HTML page shows that would not reach the engine `slug` as
    typed: each must start as the CLI's -H (or --context) names it."""
    from containers_app import cli, engines

    if response.status_code != 200 or response.streaming:
        return []
    if not response.get("Content-Type", "").startswith("text/html"):
        return []
    engine = engines.get(slug)
    named = cli.docker_on(engine, default=settings.BERTH_DEFAULT_ENGINE)
    shown = [a or b for a, b in SHOWN_COMMAND.findall(response.content.decode())]
    return [c for c in shown if c.startswith("docker ") and not c.startswith(named + " ")]


def test_a_view_that_declares_no_rule_is_refused_even_to_a_superuser(rf, admin_user):
    def undeclared(request):
        raise AssertionError("an undeclared view ran")

    request = rf.get("/anything/")
    request.user = admin_user
    request.resolver_match = None

    with pytest.raises(PermissionDenied):
        AccessMiddleware(lambda request: None).process_view(request, undeclared, (), {})


def test_the_admin_sends_anyone_but_staff_to_its_own_sign_in(people):
    for who in ("anonymous", "screen", "viewer", "operator", "other_admin"):
        response = people[who].get("/admin/")
        assert response.status_code == 302, who
        assert response["Location"].startswith("/admin/login/"), who


# --- websockets -----------------------------------------------------------------------------

WEBSOCKET_RULES = {
    "ws/containers/{ref}/logs/": SEE,
    "ws/logs/": SEE,
    "ws/containers/{ref}/exec/": OPERATE,
    "ws/live/": VIEW,
    "ws/stats/": VIEW,
    "ws/jobs/<int:job_id>/": OWN,
    "ws/audit/": AUDITORS,
    "ws/screen/": SCREEN_ONLY,
}
# More paths of a route, about one of the home team's containers, with their own rule.
WEBSOCKET_OBJECT_PATHS = {
    "ws/live/": ("/ws/live/?page=container&id={container}", SEE),
    "ws/stats/": ("/ws/stats/?id={container}", SEE),
}
SITE = "http://127.0.0.1:8000"
FOREIGN_ORIGINS = {
    "another port": "http://127.0.0.1:9999",
    "another scheme": "https://127.0.0.1:8000",
    "another host": "http://evil.example",
}
# Close codes of a refusal, and of an object answered as missing.
CLOSE_REFUSED, CLOSE_NOT_FOUND, CLOSE_BAD_REQUEST = 4403, 4404, 4400


# The websocket routes about one engine, under ws/engines/<slug>/ as well as at ws/.
ENGINE_SOCKETS = "ws/engines/<slug:engine>/"


def websocket_rule_keys(patterns=None, prefix: str = "") -> list[str]:
    """Every websocket route, nested routers flattened: ws/containers/{ref}/logs/..."""
    keys = []
    for route in websocket_urlpatterns if patterns is None else patterns:
        pattern = re.sub(r"\(\?P<ref>[^)]*\)", "{ref}", str(route.pattern)).strip("^$")
        inner = getattr(route.callback, "routes", None)
        keys += websocket_rule_keys(inner, prefix + pattern) if inner else [prefix + pattern]
    return keys


def websocket_base_key(key: str) -> str:
    return key.replace(ENGINE_SOCKETS, "ws/")


def test_every_websocket_route_has_a_rule_in_the_matrix():
    keys = sorted({websocket_base_key(key) for key in websocket_rule_keys()})
    assert keys == sorted(WEBSOCKET_RULES), "add the new websocket route to WEBSOCKET_RULES"


def test_every_engine_websocket_route_is_also_at_today_s_address():
    keys = websocket_rule_keys()
    for key in keys:
        if key.startswith(ENGINE_SOCKETS):
            assert websocket_base_key(key) in keys


def websocket_path(key: str, *, container_id: str, job_id: int, ticket: str) -> str:
    """A working path for a route: the home team's container, the home admin's job, and for
    exec a fresh ticket."""
    known = {
        "ws/containers/{ref}/logs/": f"/ws/containers/{container_id}/logs/?tail=1",
        "ws/logs/": f"/ws/logs/?c={container_id}&tail=1",
        "ws/containers/{ref}/exec/": f"/ws/containers/{container_id}/exec/?ticket={ticket}",
        "ws/live/": "/ws/live/?page=containers",
        "ws/stats/": "/ws/stats/",
        "ws/jobs/<int:job_id>/": f"/ws/jobs/{job_id}/",
        "ws/audit/": "/ws/audit/",
    }
    return known.get(key) or "/" + key.strip("^$")


@dataclass
class Handshake:
    accepted: bool
    code: int | None
    # What came first after the socket was accepted: ("text", data), ("close", code) or None.
    first: tuple | None = None


async def through_the_application(
    path: str, *, origin: str, cookie: str, wait: float = 0
) -> Handshake:
    """A handshake through the whole ASGI application, and what comes first after it."""
    from channels.testing import WebsocketCommunicator

    from dashboard.asgi import application

    headers = [(b"origin", origin.encode()), (b"host", b"127.0.0.1:8000")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    accepted, code = await communicator.connect(timeout=15)
    if not accepted:
        return Handshake(False, code)
    first = None
    # receive_output would cancel the application when nothing comes in time: first wait for
    # something to come.
    if wait and not await communicator.receive_nothing(timeout=wait, interval=0.02):
        output = await communicator.receive_output(timeout=1)
        if output and output["type"] == "websocket.close":
            first = ("close", output.get("code"))
        elif output and output["type"] == "websocket.send":
            first = ("text", output.get("text") or "")
    await communicator.disconnect()
    return Handshake(True, code, first)


def websocket_problem(expected: str, shake: Handshake) -> str | None:
    refused_early = not shake.accepted and shake.code == CLOSE_REFUSED
    errored = shake.first is not None and (
        (shake.first[0] == "close" and shake.first[1] in (CLOSE_NOT_FOUND, CLOSE_BAD_REQUEST))
        or (shake.first[0] == "text" and '"error"' in shake.first[1])
    )
    if expected == ANYTHING:
        return None
    if expected in (LOGIN, REFUSED):
        return None if refused_early else f"not refused: {shake}"
    if expected == HIDDEN:
        hidden_early = not shake.accepted and shake.code in (CLOSE_REFUSED, CLOSE_NOT_FOUND)
        return None if hidden_early or errored else f"not answered as missing: {shake}"
    if not shake.accepted or errored:
        return f"not let through: {shake}"
    return None


@pytest.fixture
def sessions(users, wall_cookie) -> dict:
    """Each person's cookie header ("" for someone signed out) and user (None: no user)."""
    from containers_app import screens

    found = {"anonymous": ("", None), "screen": (f"{screens.COOKIE_NAME}={wall_cookie}", None)}
    for who, user in users.items():
        client = Client()
        client.force_login(user)
        found[who] = (f"sessionid={client.cookies['sessionid'].value}", user)
    return found


@pytest.fixture
def own_upstreams():
    """Each async test runs its own event loop: the shared upstreams a case started end with
    it, so the next case does not join one whose loop is gone."""
    yield
    stop_shared_upstreams()


def websocket_cases() -> list[tuple[str, str | None]]:
    keys = sorted(websocket_rule_keys())
    return [(key, None) for key in keys] + [
        (key, WEBSOCKET_OBJECT_PATHS[websocket_base_key(key)][0])
        for key in keys
        if websocket_base_key(key) in WEBSOCKET_OBJECT_PATHS
    ]


@pytest.mark.parametrize(
    ("key", "object_path"),
    websocket_cases(),
    ids=[key + (" (one container)" if path else "") for key, path in websocket_cases()],
)
async def test_each_websocket_route_answers_each_person_and_origin_as_its_rule_says(
    key, object_path, sessions, scenes, own_upstreams
):
    from asgiref.sync import sync_to_async

    on_second = key.startswith(ENGINE_SOCKETS)
    scene = scenes[SECOND_ENGINE if on_second else "local"]
    container = scene.container()
    job = await sync_to_async(scenes["local"].job)()
    base = websocket_base_key(key)
    rule = WEBSOCKET_OBJECT_PATHS[base][1] if object_path else WEBSOCKET_RULES[base]
    # The same route under /ws/engines/<slug>/, on the second engine.
    engine_prefix = f"/ws/engines/{SECOND_ENGINE}/" if on_second else "/ws/"

    async def path_for(user) -> str:
        ticket = (
            tickets.issue(user_id=user.pk, container_id=container["Id"], command=["sh"])
            if user
            else "x"
        )
        if object_path:
            path = object_path.format(container=container["Id"])
        else:
            path = websocket_path(base, container_id=container["Id"], job_id=job.pk, ticket=ticket)
        return engine_prefix + path.removeprefix("/ws/")

    problems = []
    for who, (cookie, user) in sessions.items():
        expected = rule[who]
        path = await path_for(user)
        route_matrix.count("websocket", who)
        wait = 5 if expected == HIDDEN else 1 if expected == THROUGH else 0
        shake = await through_the_application(path, origin=SITE, cookie=cookie, wait=wait)
        if problem := websocket_problem(expected, shake):
            problems.append(f"{path} as {who} ({expected}): {problem}")
        for what, origin in FOREIGN_ORIGINS.items():
            route_matrix.count("websocket", who)
            path = await path_for(user)
            shake = await through_the_application(path, origin=origin, cookie=cookie)
            if shake.accepted:
                problems.append(f"{path} as {who} from {what} ({origin}) was accepted")

    assert not problems, "\n".join(problems)
