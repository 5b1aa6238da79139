"""Who may reach what, for every route there is: generated from the URL conf and the
websocket routes, so a route added without a rule here fails the suite instead of being open.

Each HTTP route is asked GET and POST as someone signed out, a viewer (signed in, not staff)
and staff; each websocket route as the same three, from the site's own origin and from
another port, another scheme and another host. The refs name objects that do not exist: the
check comes before any engine call, and staff being let through shows as a 404 or a 400 from
the view, never as a change.
"""

import re

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from containers_app import tickets
from containers_app.views.common import AccessMiddleware
from dashboard.routing import websocket_urlpatterns
from tests import route_matrix
from tests.conftest import unique

PUBLIC, VIEW, CHANGE, NO_SUCH_METHOD = "public", "view", "change", "405"
# Let through to anyone signed in by the route (VIEW), refused by the view itself (403) to
# all but superusers, whom the matrix does not ask: creating a team.
SUPERUSER = "superuser"
# The same, but let in by the view to team admins as well (access.audit_scope): the
# matrix's viewer and staff belong to no team, so the view answers them 403.
AUDITORS = "superusers and team admins"

# What each route allows, by method. A new route must be added here, or this test fails.
EXPECTED = {
    "home": {"GET": PUBLIC, "POST": PUBLIC},
    "login": {"GET": PUBLIC, "POST": PUBLIC},
    "logout": {"GET": PUBLIC, "POST": PUBLIC},
    "containers:list": {"GET": VIEW, "POST": NO_SUCH_METHOD},
    "containers:bulk": {"GET": CHANGE, "POST": CHANGE},
    "containers:detail": {"GET": VIEW, "POST": NO_SUCH_METHOD},
    "containers:logs": {"GET": VIEW, "POST": NO_SUCH_METHOD},
    "containers:logs-download": {"GET": VIEW, "POST": NO_SUCH_METHOD},
    "containers:exec": {"GET": CHANGE, "POST": CHANGE},
    "containers:action": {"GET": CHANGE, "POST": CHANGE},
    "containers:run": {"GET": CHANGE, "POST": CHANGE},
    "containers:run-preview": {"GET": CHANGE, "POST": CHANGE},
    "containers:run-similar": {"GET": CHANGE, "POST": CHANGE},
    "containers:commit": {"GET": CHANGE, "POST": CHANGE},
    "containers:recreate": {"GET": CHANGE, "POST": CHANGE},
    "images:list": {"GET": VIEW, "POST": NO_SUCH_METHOD},
    "images:detail": {"GET": VIEW, "POST": NO_SUCH_METHOD},
    "images:remove": {"GET": CHANGE, "POST": CHANGE},
    "images:tag": {"GET": CHANGE, "POST": CHANGE},
    "images:prune": {"GET": CHANGE, "POST": CHANGE},
    "images:save": {"GET": CHANGE, "POST": CHANGE},
    "images:pull": {"GET": CHANGE, "POST": CHANGE},
    "images:build": {"GET": CHANGE, "POST": CHANGE},
    "images:load": {"GET": CHANGE, "POST": CHANGE},
    "images:push": {"GET": CHANGE, "POST": CHANGE},
    "jobs:list": {"GET": VIEW, "POST": NO_SUCH_METHOD},
    "jobs:detail": {"GET": VIEW, "POST": NO_SUCH_METHOD},
    "jobs:cancel": {"GET": CHANGE, "POST": CHANGE},
    "networks:list": {"GET": VIEW, "POST": CHANGE},
    "networks:detail": {"GET": VIEW, "POST": NO_SUCH_METHOD},
    "networks:remove": {"GET": CHANGE, "POST": CHANGE},
    "volumes:list": {"GET": VIEW, "POST": CHANGE},
    "volumes:detail": {"GET": VIEW, "POST": NO_SUCH_METHOD},
    "volumes:remove": {"GET": CHANGE, "POST": CHANGE},
    "registries:list": {"GET": CHANGE, "POST": CHANGE},
    "registries:logout": {"GET": CHANGE, "POST": CHANGE},
    "merged-logs": {"GET": VIEW, "POST": NO_SUCH_METHOD},
    "stats": {"GET": VIEW, "POST": NO_SUCH_METHOD},
    "system:info": {"GET": VIEW, "POST": NO_SUCH_METHOD},
    "teams:list": {"GET": VIEW, "POST": SUPERUSER},
    "teams:detail": {"GET": VIEW, "POST": NO_SUCH_METHOD},
    "teams:members": {"GET": NO_SUCH_METHOD, "POST": VIEW},
    "teams:member-remove": {"GET": NO_SUCH_METHOD, "POST": VIEW},
    "audit:list": {"GET": AUDITORS, "POST": NO_SUCH_METHOD},
    "audit:export": {"GET": AUDITORS, "POST": NO_SUCH_METHOD},
}
# Values for the routes' parameters: objects that do not exist.
SAMPLE = {
    "ref": "berthtest-matrix-none",
    "action": "stop",
    "job_id": 999999,
    "credential_id": 999999,
    "slug": "berthtest-matrix-none",
    "username": "berthtest-matrix-none",
}
IMAGE_SAMPLE = {"ref": "0123456789ab"}
# A body no form accepts (create, tag, prune), so staff's POST is refused by the form, not
# carried out.
INVALID_BODY = {"name": "not a valid name!", "action": "stop", "target": "NOT VALID", "all": "?"}


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


def url_of(name: str, pattern: URLPattern) -> str:
    names = pattern.pattern.regex.groupindex
    samples = IMAGE_SAMPLE if name.startswith("images:") else SAMPLE
    return reverse(name, kwargs={key: samples[key] for key in names})


ROUTES = http_routes()


def test_every_route_has_a_rule_in_the_matrix():
    names = [name for name, _ in ROUTES]
    assert sorted(names) == sorted(EXPECTED), "add the new route to EXPECTED, with its rule"


@pytest.fixture
def people(viewer_client, staff_client) -> dict[str, Client]:
    return {"anonymous": Client(), "viewer": viewer_client, "staff": staff_client}


def verdict(who: str, rule: str, response) -> str | None:
    """What is wrong with `response` to `who` on a route with `rule`, or None."""
    status = response.status_code
    if status >= 500:
        return f"answered {status}"
    if rule == PUBLIC:
        return None
    if who == "anonymous":
        signed_out = status == 302 and response["Location"].startswith("/accounts/login/")
        return None if signed_out else f"let someone signed out through ({status})"
    if rule == NO_SUCH_METHOD:
        return None if status == 405 else f"answered {status}, not 405"
    if rule == SUPERUSER:
        return None if status == 403 else f"let {who} do what only a superuser may ({status})"
    if rule == AUDITORS:
        return None if status == 403 else f"let {who} read the audit trail ({status})"
    if rule == CHANGE and who == "viewer":
        return None if status == 403 else f"let a viewer change things ({status})"
    return f"refused {who} ({status})" if status in (302, 403) else None


CASES = [
    (name, pattern, who, method)
    for name, pattern in ROUTES
    for who in ("anonymous", "viewer", "staff")
    for method in ("GET", "POST")
]


@pytest.mark.parametrize(
    ("name", "pattern", "who", "method"),
    CASES,
    ids=[f"{name}-{who}-{method}" for name, _, who, method in CASES],
)
def test_each_route_answers_each_person_as_its_rule_says(people, name, pattern, who, method):
    route_matrix.count("http")
    rule = EXPECTED.get(name, {}).get(method)
    assert rule, f"{name} has no rule in EXPECTED"
    client = people[who]
    url = url_of(name, pattern)
    response = client.get(url) if method == "GET" else client.post(url, INVALID_BODY)

    problem = verdict(who, rule, response)

    assert problem is None, f"{method} {url} as {who}: {problem}"


def test_a_view_that_declares_no_rule_is_refused_even_to_a_superuser(rf, admin_user):
    def undeclared(request):
        raise AssertionError("an undeclared view ran")

    request = rf.get("/anything/")
    request.user = admin_user
    request.resolver_match = None

    with pytest.raises(PermissionDenied):
        AccessMiddleware(lambda request: None).process_view(request, undeclared, (), {})


def test_the_admin_sends_anyone_but_staff_to_its_own_sign_in(people):
    for who in ("anonymous", "viewer"):
        response = people[who].get("/admin/")
        assert response.status_code == 302, who
        assert response["Location"].startswith("/admin/login/"), who


# --- websockets -----------------------------------------------------------------------------

WEBSOCKET_RULES = {
    r"^ws/containers/{ref}/logs/$": VIEW,
    "ws/logs/": VIEW,
    r"^ws/containers/{ref}/exec/$": CHANGE,
    "ws/live/": VIEW,
    "ws/stats/": VIEW,
    "ws/jobs/<int:job_id>/": VIEW,
    "ws/audit/": AUDITORS,
}
SITE = "http://127.0.0.1:8000"
FOREIGN_ORIGINS = {
    "another port": "http://127.0.0.1:9999",
    "another scheme": "https://127.0.0.1:8000",
    "another host": "http://evil.example",
}


def websocket_rule_key(route) -> str:
    return re.sub(r"\(\?P<ref>[^)]*\)", "{ref}", str(route.pattern))


def test_every_websocket_route_has_a_rule_in_the_matrix():
    keys = sorted(websocket_rule_key(route) for route in websocket_urlpatterns)
    assert keys == sorted(WEBSOCKET_RULES), "add the new websocket route to WEBSOCKET_RULES"


def websocket_path(key: str, container_id: str, ticket: str) -> str:
    """A working path for a route: a real container, and for exec a fresh ticket."""
    return {
        r"^ws/containers/{ref}/logs/$": f"/ws/containers/{container_id}/logs/?tail=1",
        "ws/logs/": f"/ws/logs/?c={container_id}&tail=1",
        r"^ws/containers/{ref}/exec/$": f"/ws/containers/{container_id}/exec/?ticket={ticket}",
        "ws/live/": "/ws/live/?page=containers",
        "ws/stats/": "/ws/stats/",
        "ws/jobs/<int:job_id>/": "/ws/jobs/999999/",
        "ws/audit/": "/ws/audit/",
    }[key]


async def through_the_application(path: str, *, origin: str, cookie: str):
    """(accepted, close code) of a handshake through the whole ASGI application."""
    from channels.testing import WebsocketCommunicator

    from dashboard.asgi import application

    headers = [(b"origin", origin.encode()), (b"host", b"127.0.0.1:8000")]
    if cookie:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    accepted, code = await communicator.connect(timeout=15)
    if accepted:
        await communicator.disconnect()
    return accepted, code


@pytest.fixture
def sessions(transactional_db, django_user_model) -> dict:
    """Each person's session cookie (None for someone signed out) and user."""
    found = {"anonymous": ("", None)}
    for who, staff in (("viewer", False), ("staff", True)):
        user = django_user_model.objects.create_user(username=unique(who), is_staff=staff)
        client = Client()
        client.force_login(user)
        found[who] = (client.cookies["sessionid"].value, user)
    return found


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("key", sorted(WEBSOCKET_RULES))
async def test_each_websocket_route_answers_each_person_and_origin_as_its_rule_says(
    key, sessions, make
):
    container = make.container()
    rule = WEBSOCKET_RULES[key]
    for who, (cookie, user) in sessions.items():
        ticket = (
            tickets.issue(user_id=user.pk, container_id=container["Id"], command=["sh"])
            if user
            else "x"
        )
        path = websocket_path(key, container["Id"], ticket)
        route_matrix.count("websocket")
        accepted, code = await through_the_application(path, origin=SITE, cookie=cookie)
        # AUDITORS: neither the viewer nor staff is a superuser or a team admin.
        may = rule != AUDITORS and (who == "staff" or (who == "viewer" and rule == VIEW))
        assert accepted == may, f"{path} as {who}: accepted={accepted}, code {code}"
        if not may:
            assert code == 4403, f"{path} as {who}: closed with {code}"
        for what, origin in FOREIGN_ORIGINS.items():
            route_matrix.count("websocket")
            ticket = (
                tickets.issue(user_id=user.pk, container_id=container["Id"], command=["sh"])
                if user
                else "x"
            )
            path = websocket_path(key, container["Id"], ticket)
            accepted, code = await through_the_application(path, origin=origin, cookie=cookie)
            assert not accepted, f"{path} as {who} from {what} ({origin}) was accepted"
