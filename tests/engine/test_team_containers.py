"""Containers owned by teams, against the private engine: another team's container answers
exactly as a missing one (404, by id and by name, on every page and action), lists and bulk
actions never reach it, each role does what it may to its own team's, a compose project
assigned to a team brings its containers (new ones too) to that team, and every refusal is on
the audit trail."""

import re

import docker.errors
import pytest

from containers_app.engine.containers import ACTIONS
from containers_app.models import AuditEntry, ProjectAssignment, Team
from tests.conftest import HOME_TEAM, OTHER_TEAM, STOPPABLE, client_of, member, unique
from tests.engine.markup import data_ids, flash, page

# Commit and recreate run as jobs, whose threads write to the database.
pytestmark = pytest.mark.django_db(transaction=True)

PROJECT_LABEL = "com.docker.compose.project"
ADMINS_ONLY = "Only the team&#x27;s admins may do this."


def refs_of(container: dict) -> tuple[str, str, str]:
    """The ways a URL names a container: its id, its short id and its name."""
    return container["Id"], container["Id"][:12], container["Name"].lstrip("/")


def status_of(docker_api, container_id: str) -> str | None:
    try:
        return docker_api.inspect_container(container_id)["State"]["Status"]
    except docker.errors.NotFound:
        return None


def image_exists(docker_api, reference: str) -> bool:
    try:
        docker_api.inspect_image(reference)
    except docker.errors.NotFound:
        return False
    return True


def without_tokens(markup: str) -> str:
    """A page without what differs between two renderings of it (CSRF tokens, the moment its
    live updates start)."""
    markup = re.sub(r'"[A-Za-z0-9]{64}"', '""', markup)
    return re.sub(r'data-since="\d*"', "", markup)


def every_request(ref: str, commit_to: str) -> list[tuple[str, str, dict]]:
    """(method, path, body) of every page and change of one container."""
    base = f"/containers/{ref}/"
    gets = [
        ("get", base, {}),
        ("get", f"{base}logs/", {}),
        ("get", f"{base}logs/download/", {}),
        ("get", f"{base}run-similar/", {}),
        ("get", f"{base}exec/", {}),
    ]
    posts = [("post", f"{base}{action.replace('_', '-')}/", {}) for action in ACTIONS]
    posts += [
        ("post", f"{base}commit/", {"repository": commit_to, "tag": "v1"}),
        ("post", f"{base}recreate/", {}),
        ("post", f"{base}exec/", {"cmd": "sh"}),
    ]
    return gets + posts


# --- another team's container: as if it were not there --------------------------------------


@pytest.mark.parametrize("role", ["operator", "admin"])
def test_another_team_s_member_gets_the_404_of_a_missing_container_by_id_and_by_name(
    role, make, docker_api
):
    outsider = member(unique(role), OTHER_TEAM, role)
    client = client_of(outsider)
    theirs = make.container(command=STOPPABLE)
    absent = unique("c")
    commit_to = f"berthtest-local/{unique('commit')}"
    asked = [(ref, request) for ref in refs_of(theirs) for request in every_request(ref, commit_to)]
    hidden = []
    for _, (method, path, body) in asked:
        response = getattr(client, method)(path, body)
        response.close()
        hidden.append(response)

    assert status_of(docker_api, theirs["Id"]) == "running"
    assert (
        docker_api.inspect_container(theirs["Id"])["State"]["StartedAt"]
        == (theirs["State"]["StartedAt"])
    )
    assert not image_exists(docker_api, f"{commit_to}:v1")
    # Each attempt to change it is on the trail as denied, naming neither it nor its team:
    # the outsider may not learn of it, and its team's admins see no noise of another team.
    refused = AuditEntry.objects.filter(denied=True, user=outsider)
    assert refused.count() == sum(method == "post" for _, (method, _, _) in asked)
    assert set(refused.values_list("target", "command", "team")) == {("", "", "")}
    assert not AuditEntry.objects.filter(denied=False).exists()

    for (ref, (method, path, body)), response in zip(asked, hidden, strict=True):
        missing = getattr(client, method)(path.replace(ref, absent), body)
        missing.close()
        assert response.status_code == missing.status_code == 404, (method, path)
        if not response.streaming:
            assert without_tokens(page(response)).replace(ref, absent) == without_tokens(
                page(missing)
            ), (method, path)


def test_another_team_s_viewer_is_answered_as_for_a_missing_container(make, docker_api):
    outsider = member(unique("viewer"), OTHER_TEAM, "viewer")
    client = client_of(outsider)
    theirs = make.container(command=STOPPABLE)
    absent = unique("c")

    for ref in refs_of(theirs):
        for method, path, body in every_request(ref, f"berthtest-local/{unique('commit')}"):
            hidden = getattr(client, method)(path, body)
            missing = getattr(client, method)(path.replace(ref, absent), body)
            hidden.close()
            missing.close()

            # Every page and change of one container is decided on the container: another
            # team's is a 404, like a missing one, even to someone who may change nothing.
            assert hidden.status_code == missing.status_code == 404, path
    assert status_of(docker_api, theirs["Id"]) == "running"


def test_a_member_s_container_list_never_holds_another_team_s_rows(
    other_admin_client, viewer_client, make, htmx
):
    ours = make.container(team=OTHER_TEAM, state="exited")
    theirs = make.container()
    nobody_s = make.container(team=None)
    their_name = theirs["Name"].lstrip("/")

    queries = [
        "/containers/",
        "/containers/?all=1",
        f"/containers/?all=1&name={their_name}",
        f"/containers/?all=1&label=berth.team={HOME_TEAM}",
        "/containers/?all=1&sort=name&desc=1",
    ]
    for query in queries:
        for response in (
            other_admin_client.get(query),
            other_admin_client.get(query, HTTP_HX_TARGET="rows", **htmx),
        ):
            assert response.status_code == 200, query
            assert theirs["Id"] not in data_ids(response), query
            assert nobody_s["Id"] not in data_ids(response), query
            if their_name not in query:  # else the filter the page echoes names it
                assert their_name not in page(response), query
    assert ours["Id"] in data_ids(other_admin_client.get("/containers/?all=1"))
    # And the other way round.
    home_rows = data_ids(viewer_client.get("/containers/?all=1"))
    assert theirs["Id"] in home_rows
    assert ours["Id"] not in home_rows and nobody_s["Id"] not in home_rows


@pytest.mark.parametrize("by", ["id", "name"])
def test_a_bulk_action_naming_another_team_s_container_leaves_it_and_says_no_such_container(
    by, other_admin_client, other_admin_user, make, docker_api, htmx
):
    ours = make.container(team=OTHER_TEAM, command=STOPPABLE)
    theirs = make.container(command=STOPPABLE)
    named = theirs["Id"] if by == "id" else theirs["Name"].lstrip("/")

    response = other_admin_client.post(
        "/containers/bulk/", {"action": "stop", "ids": [ours["Id"], named]}, **htmx
    )

    assert response.status_code == 200
    message = flash(response)
    assert "Stopped 1 of 2" in message
    assert f"No such container: {named}" in message
    assert status_of(docker_api, theirs["Id"]) == "running"
    assert status_of(docker_api, ours["Id"]) == "exited"
    # Its own container's stop is recorded under its team; the other one only as a denied
    # attempt that names nothing.
    assert list(
        AuditEntry.objects.filter(denied=False).values_list("action", "target", "team")
    ) == [("stop", ours["Name"].lstrip("/"), OTHER_TEAM)]
    refused = AuditEntry.objects.filter(denied=True)
    assert list(refused.values_list("user", "target", "command", "team")) == [
        (other_admin_user.pk, "", "", "")
    ]


def test_a_bulk_removal_by_the_team_s_operator_leaves_the_container_and_says_why(
    operator_client, operator_user, make, docker_api, htmx
):
    ours = make.container(state="exited")

    response = operator_client.post(
        "/containers/bulk/", {"action": "remove", "ids": [ours["Id"]]}, **htmx
    )

    assert response.status_code == 200
    assert ADMINS_ONLY in flash(response)
    assert status_of(docker_api, ours["Id"]) == "exited"
    refused = AuditEntry.objects.get(denied=True)
    assert (refused.user, refused.action, refused.object_id, refused.team) == (
        operator_user,
        "remove",
        ours["Id"],
        HOME_TEAM,
    )


# --- the team's own roles -------------------------------------------------------------------


def test_the_team_s_viewer_is_refused_start_and_the_refusal_is_on_the_team_s_trail(
    viewer_client, viewer_user, make, docker_api
):
    ours = make.container(state="exited")

    response = viewer_client.post(f"/containers/{ours['Id']}/start/")

    assert response.status_code == 403
    assert status_of(docker_api, ours["Id"]) == "exited"
    refused = AuditEntry.objects.get(denied=True)
    assert refused.user == viewer_user
    # The viewer may see the container: its team's admins see the attempt on their trail.
    assert refused.team == HOME_TEAM


def test_the_team_s_operator_may_start_and_stop_but_not_remove(
    operator_client, operator_user, make, docker_api
):
    ours = make.container(state="exited", command=STOPPABLE)
    name = ours["Name"].lstrip("/")

    assert operator_client.post(f"/containers/{ours['Id']}/start/").status_code == 302
    assert status_of(docker_api, ours["Id"]) == "running"
    assert operator_client.post(f"/containers/{name}/stop/").status_code == 302
    assert status_of(docker_api, ours["Id"]) == "exited"
    for action in ("remove", "force-remove"):
        response = operator_client.post(f"/containers/{name}/{action}/")
        assert response.status_code == 403, action
        assert ADMINS_ONLY in page(response)
    commit_to = f"berthtest-local/{unique('commit')}"
    for path, body in [
        (f"/containers/{name}/commit/", {"repository": commit_to, "tag": "v1"}),
        (f"/containers/{name}/recreate/", {}),
    ]:
        assert operator_client.post(path, body).status_code == 403, path
    assert operator_client.get(f"/containers/{name}/run-similar/").status_code == 403

    assert status_of(docker_api, ours["Id"]) == "exited"
    assert not image_exists(docker_api, f"{commit_to}:v1")
    done = AuditEntry.objects.filter(denied=False).order_by("pk")
    assert [(e.user, e.action, e.team, e.succeeded) for e in done] == [
        (operator_user, "start", HOME_TEAM, True),
        (operator_user, "stop", HOME_TEAM, True),
    ]
    refused = AuditEntry.objects.filter(denied=True).order_by("pk")
    assert [(e.action, e.team) for e in refused][:2] == [
        ("remove", HOME_TEAM),
        ("force_remove", HOME_TEAM),
    ]
    assert {e.team for e in refused} == {HOME_TEAM}
    assert all(e.user == operator_user for e in refused)


def test_the_team_s_admin_may_remove_its_container(staff_client, make, docker_api):
    ours = make.container(state="exited")

    assert staff_client.post(f"/containers/{ours['Id']}/remove/").status_code == 302

    assert status_of(docker_api, ours["Id"]) is None
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.team, entry.denied, entry.succeeded) == (
        "remove",
        HOME_TEAM,
        False,
        True,
    )


# --- compose projects assigned to a team -----------------------------------------------------


def assign(project: str, team: str = HOME_TEAM) -> ProjectAssignment:
    return ProjectAssignment.objects.create(
        engine="local", project=project, team=Team.objects.get(slug=team)
    )


def test_a_container_of_a_project_assigned_to_a_team_is_the_team_s_and_so_is_a_new_one(
    viewer_client, operator_client, other_admin_client, make, docker_api
):
    project = unique("p")
    composed = make.container(team=None, labels={PROJECT_LABEL: project}, command=STOPPABLE)
    detail = f"/containers/{composed['Id']}/"
    # Of no team until the project is assigned: a superuser's only.
    assert viewer_client.get(detail).status_code == 404

    assign(project)

    assert viewer_client.get(detail).status_code == 200
    assert composed["Id"] in data_ids(viewer_client.get("/containers/?all=1"))
    assert other_admin_client.get(detail).status_code == 404
    assert composed["Id"] not in data_ids(other_admin_client.get("/containers/?all=1"))
    assert operator_client.post(f"{detail}stop/").status_code == 302
    assert status_of(docker_api, composed["Id"]) == "exited"
    stopped = AuditEntry.objects.get(action="stop")
    assert stopped.team == HOME_TEAM

    # `compose up` after a `down` makes new containers: they keep the project's team.
    again = make.container(team=None, labels={PROJECT_LABEL: project})

    assert again["Id"] in data_ids(viewer_client.get("/containers/?all=1"))
    assert viewer_client.get(f"/containers/{again['Id']}/").status_code == 200
    assert other_admin_client.get(f"/containers/{again['Id']}/").status_code == 404


def test_a_container_labelled_for_another_team_stays_that_team_s_in_an_assigned_project(
    viewer_client, other_admin_client, make
):
    project = unique("p")
    assign(project)
    labelled = make.container(team=OTHER_TEAM, labels={PROJECT_LABEL: project})

    assert viewer_client.get(f"/containers/{labelled['Id']}/").status_code == 404
    assert other_admin_client.get(f"/containers/{labelled['Id']}/").status_code == 200


def test_a_project_assigned_on_another_engine_gives_no_team_its_containers(viewer_client, make):
    project = unique("p")
    ProjectAssignment.objects.create(
        engine="elsewhere",
        project=project,
        team=Team.objects.get(slug=HOME_TEAM),
    )
    composed = make.container(team=None, labels={PROJECT_LABEL: project})

    assert viewer_client.get(f"/containers/{composed['Id']}/").status_code == 404
    assert composed["Id"] not in data_ids(viewer_client.get("/containers/?all=1"))
