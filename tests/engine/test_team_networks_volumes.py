"""Networks and volumes owned by teams, against the private engine: each team sees and changes
only its own (and everyone sees the engine's own networks), what a team admin creates carries
berth.team=<team>, and every refusal is on the audit trail."""

import re
from dataclasses import dataclass

import docker
import pytest

from containers_app.models import AuditEntry, ProjectAssignment, Team
from tests.conftest import HOME_TEAM, OTHER_TEAM, unique
from tests.engine.markup import data_ids, page, row, shows

KINDS = ("network", "volume")
NOT_AN_ADMIN = "You are not an admin of any team, so you may not create this."
RESERVED = (
    "Labels berth.* and com.docker.compose.* are set by Berth and Docker Compose only: berth.team."
)


@dataclass(frozen=True)
class Made:
    """An object made for a test: its kind, the data-id of its row, its name, and the refs
    that name it in a URL (a network's id, short id and name; a volume's name)."""

    kind: str
    data_id: str
    name: str
    refs: tuple[str, ...]

    @property
    def list_url(self) -> str:
        return f"/{self.kind}s/"

    def url(self, ref: str, action: str = "") -> str:
        return f"/{self.kind}s/{ref}/" + (f"{action}/" if action else "")


def made(make, kind: str, team: str | None = HOME_TEAM, **options) -> Made:
    if kind == "network":
        network = make.network(team=team, **options)
        refs = (network["Id"], network["Id"][:12], network["Name"])
        return Made(kind, network["Id"], network["Name"], refs)
    volume = make.volume(team=team, **options)
    return Made(kind, volume["Name"], volume["Name"], (volume["Name"],))


def inspect(docker_api, kind: str, ref: str) -> dict | None:
    try:
        if kind == "network":
            return docker_api.inspect_network(ref)
        return docker_api.inspect_volume(ref)
    except docker.errors.NotFound:
        return None


def create(client, kind: str, name: str, **fields):
    driver = "bridge" if kind == "network" else "local"
    return client.post(f"/{kind}s/", {"name": name, "driver": driver, **fields})


def to_be_made(make, kind: str) -> str:
    """A new name, whatever is made under it removed after the test."""
    name = unique(kind[0])
    (make.networks if kind == "network" else make.volumes).append(name)
    return name


def without_tokens(markup: str) -> str:
    """A page without what differs between any two renderings of it (CSRF tokens, the
    moment its live updates start)."""
    markup = re.sub(r'"[A-Za-z0-9]{64}"', '""', markup)
    return re.sub(r'data-since="\d*"', "", markup)


def removals(thing: Made, ref: str) -> list[dict]:
    """The remove requests of `thing`'s page: plain, and for a volume also forced."""
    forms = [{}] + ([{"force": "1"}] if thing.kind == "volume" else [])
    return [{"path": thing.url(ref, "remove"), "data": data} for data in forms]


# Another team's objects: as if they were not there


@pytest.mark.parametrize("kind", KINDS)
def test_another_teams_admin_gets_the_404_of_a_missing_object_by_id_and_by_name(
    kind, other_admin_client, make, docker_api
):
    theirs = made(make, kind)
    absent = unique(kind[0])
    posts = 0

    for ref in theirs.refs:
        for method, request in [("get", {"path": theirs.url(ref)})] + [
            ("post", r) for r in removals(theirs, ref)
        ]:
            hidden = getattr(other_admin_client, method)(**request)
            request = dict(request, path=request["path"].replace(ref, absent))
            missing = getattr(other_admin_client, method)(**request)

            assert hidden.status_code == missing.status_code == 404, request
            assert without_tokens(page(hidden)).replace(ref, absent) == without_tokens(
                page(missing)
            )
            posts += method == "post"

    assert inspect(docker_api, kind, theirs.data_id) is not None
    # Each attempt to change it is on the trail as denied, naming neither it nor its team.
    refused = AuditEntry.objects.filter(denied=True)
    assert refused.count() == posts
    assert set(refused.values_list("target", "command", "team")) == {("", "", "")}
    assert not AuditEntry.objects.filter(denied=False).exists()


@pytest.mark.parametrize("kind", KINDS)
def test_a_teams_members_see_only_their_teams_objects_in_the_list(
    kind, viewer_client, other_admin_client, make, htmx
):
    ours, theirs = made(make, kind), made(make, kind, team=OTHER_TEAM)

    for client, shown, hidden in (
        (viewer_client, ours, theirs),
        (other_admin_client, theirs, ours),
    ):
        for response in (
            client.get(f"/{kind}s/"),
            client.get(f"/{kind}s/", HTTP_HX_TARGET="rows", **htmx),
        ):
            assert response.status_code == 200
            assert shown.data_id in data_ids(response)
            assert hidden.data_id not in data_ids(response)
            assert hidden.name not in page(response)


@pytest.mark.parametrize("kind", KINDS)
def test_an_object_of_an_assigned_compose_project_is_its_teams(
    kind, viewer_client, other_admin_client, make
):
    project = unique("p")
    ProjectAssignment.objects.create(
        engine="local", project=project, team=Team.objects.get(slug=HOME_TEAM)
    )
    composed = made(make, kind, team=None, labels={"com.docker.compose.project": project})

    assert composed.data_id in data_ids(viewer_client.get(composed.list_url))
    assert viewer_client.get(composed.url(composed.refs[-1])).status_code == 200
    assert composed.data_id not in data_ids(other_admin_client.get(composed.list_url))
    assert other_admin_client.get(composed.url(composed.refs[-1])).status_code == 404


# Objects of no team: a superuser's only


@pytest.mark.parametrize("kind", KINDS)
def test_a_superuser_sees_objects_of_no_team_and_a_team_admin_does_not(
    kind, admin_client, staff_client, make
):
    unowned = made(make, kind, team=None)

    listed = admin_client.get(unowned.list_url)
    assert unowned.data_id in data_ids(listed)
    assert "Remove</button>" in row(listed, unowned.data_id)
    assert admin_client.get(unowned.url(unowned.name)).status_code == 200

    assert unowned.data_id not in data_ids(staff_client.get(unowned.list_url))
    for ref in unowned.refs:
        assert staff_client.get(unowned.url(ref)).status_code == 404


# Removing: the team's admins only


@pytest.mark.parametrize("kind", KINDS)
def test_the_teams_operator_may_not_remove_it_and_the_refusal_is_on_the_trail(
    kind, operator_client, operator_user, make, docker_api
):
    ours = made(make, kind)

    for request in removals(ours, ours.name):
        response = operator_client.post(**request)

        assert response.status_code == 403
        assert shows(response, "Only the team's admins may do this.")
    assert inspect(docker_api, kind, ours.data_id) is not None
    refused = AuditEntry.objects.filter(denied=True).order_by("pk")
    forced = ["-f "] if kind == "volume" else []
    assert [(e.user, e.action, e.target, e.command, e.team) for e in refused] == [
        (operator_user, f"{kind} rm", ours.name, f"docker {kind} rm {flag}{ours.name}", HOME_TEAM)
        for flag in ["", *forced]
    ]
    assert not AuditEntry.objects.filter(denied=False).exists()


@pytest.mark.parametrize("kind", KINDS)
def test_the_teams_viewer_may_not_remove_it_and_the_refusal_is_on_the_trail(
    kind, viewer_client, viewer_user, make, docker_api
):
    ours = made(make, kind)

    for request in removals(ours, ours.name):
        assert viewer_client.post(**request).status_code == 403

    assert inspect(docker_api, kind, ours.data_id) is not None
    # Refused once the object is known: the viewer may see it, so the entry names it, with
    # its team, for the team's admins to read.
    refused = AuditEntry.objects.filter(denied=True)
    assert refused.count() == len(removals(ours, ours.name))
    assert {(e.user, e.action, e.team) for e in refused} == {(viewer_user, f"{kind} rm", HOME_TEAM)}
    assert {e.message for e in refused} == {"Only the team's admins may do this."}


@pytest.mark.parametrize("kind", KINDS)
def test_the_teams_operator_and_viewer_are_shown_no_remove_or_create_controls(
    kind, operator_client, viewer_client, make
):
    ours = made(make, kind)

    for client in (operator_client, viewer_client):
        listed, detail = client.get(ours.list_url), client.get(ours.url(ours.name))

        assert ours.data_id in data_ids(listed)
        assert detail.status_code == 200
        assert "/remove/" not in page(listed) + page(detail)
        assert f'id="{kind}-create"' not in page(listed)


@pytest.mark.parametrize("kind", KINDS)
def test_the_teams_admin_is_shown_the_remove_buttons_and_removes_it(
    kind, staff_client, make, docker_api
):
    ours = made(make, kind)

    listed, detail = staff_client.get(ours.list_url), staff_client.get(ours.url(ours.name))
    assert "Remove</button>" in row(listed, ours.data_id)
    assert f'action="/{kind}s/{ours.data_id}/remove/"' in page(detail)

    removed = staff_client.post(
        ours.url(ours.name, "remove"), {"force": "1"} if kind == "volume" else {}
    )

    assert removed.status_code == 302
    assert inspect(docker_api, kind, ours.data_id) is None
    entry = AuditEntry.objects.get(action=f"{kind} rm")
    assert (entry.target, entry.team, entry.succeeded, entry.denied) == (
        ours.name,
        HOME_TEAM,
        True,
        False,
    )


# Creating: for one of the creator's teams, labelled as such


@pytest.mark.parametrize("kind", KINDS)
def team_choice(response) -> list[tuple[str, str, bool]]:
    """The create form's team choice, under its label: (value, text, selected) each."""
    found = re.search(r'<label>Team <select name="team"[^>]*>(.*?)</select>', page(response), re.S)
    assert found, "no team choice with its label"
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', found.group(1))
    return [(value, text, bool(selected)) for value, selected, text in options]


@pytest.mark.parametrize("kind", KINDS)
def test_the_create_form_offers_the_teams_the_user_administers(kind, staff_client):
    response = staff_client.get(f"/{kind}s/")

    assert f'id="{kind}-create"' in page(response)
    assert team_choice(response) == [(HOME_TEAM, HOME_TEAM, True)]


@pytest.mark.parametrize("kind", KINDS)
def test_a_team_admin_creates_one_that_carries_the_teams_label(
    kind, staff_client, staff_user, make, docker_api
):
    name = to_be_made(make, kind)

    response = create(staff_client, kind, name, labels="purpose=tests")

    assert response.status_code == 302
    assert inspect(docker_api, kind, name)["Labels"] == {
        "berth.team": HOME_TEAM,
        "purpose": "tests",
    }
    driver = "bridge" if kind == "network" else "local"
    command = (
        f"docker {kind} create --driver {driver} --label berth.team={HOME_TEAM} "
        f"--label purpose=tests {name}"
    )
    listed = staff_client.get(response["Location"])
    assert shows(listed, f"Created {kind} {name}: {command}")
    entry = AuditEntry.objects.get(action=f"{kind} create")
    assert (entry.user, entry.target, entry.command, entry.team, entry.succeeded) == (
        staff_user,
        name,
        command,
        HOME_TEAM,
        True,
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("client", ["staff_client", "admin_client"])
def test_a_berth_label_typed_in_the_form_is_refused_with_the_message(
    kind, client, request, make, docker_api
):
    name = to_be_made(make, kind)

    response = create(request.getfixturevalue(client), kind, name, labels="berth.team=anyone")

    assert response.status_code == 400
    assert shows(response, RESERVED)
    assert inspect(docker_api, kind, name) is None
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("kind", KINDS)
def test_an_admin_of_no_team_gets_the_forms_error_and_nothing_is_made(
    kind, operator_client, make, docker_api
):
    assert f'id="{kind}-create"' not in page(operator_client.get(f"/{kind}s/"))
    name = to_be_made(make, kind)

    response = create(operator_client, kind, name)

    assert response.status_code == 400
    assert shows(response, NOT_AN_ADMIN)
    assert inspect(docker_api, kind, name) is None
    assert not AuditEntry.objects.filter(denied=False).exists()


@pytest.mark.parametrize("kind", KINDS)
def test_an_admin_may_not_create_for_a_team_they_do_not_administer(
    kind, other_admin_client, staff_user, make, docker_api
):
    name = to_be_made(make, kind)

    response = create(other_admin_client, kind, name, team=HOME_TEAM)

    assert response.status_code == 400
    assert shows(response, "Choose one of your teams.")
    assert inspect(docker_api, kind, name) is None


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("team", [HOME_TEAM, ""])
def test_a_superuser_creates_for_a_team_or_for_no_team(
    kind, team, admin_client, staff_user, make, docker_api
):
    assert team_choice(admin_client.get(f"/{kind}s/")) == [
        (HOME_TEAM, HOME_TEAM, False),
        ("", "no team (superusers only)", True),
    ]
    name = to_be_made(make, kind)

    response = create(admin_client, kind, name, team=team)

    assert response.status_code == 302
    labels = inspect(docker_api, kind, name)["Labels"] or {}
    assert labels == {"berth.team": team}  # empty for no team: no label of an image claims it
    entry = AuditEntry.objects.get(action=f"{kind} create")
    assert entry.team == team
    assert ("--label berth.team=" in entry.command) == bool(team)


# The engine's own networks: everyone's to see, nobody's to remove


def test_every_member_sees_the_engines_own_networks_and_none_may_remove_them(
    viewer_client, staff_client, other_admin_client, docker_api
):
    builtin = {name: docker_api.inspect_network(name)["Id"] for name in ("bridge", "host", "none")}

    for client in (viewer_client, staff_client, other_admin_client):
        listed = client.get("/networks/")
        for name, network_id in builtin.items():
            markup = row(listed, network_id)
            assert markup, f"no row for {name}"
            assert "Remove</button>" not in markup
            detail = client.get(f"/networks/{name}/")
            assert detail.status_code == 200
            assert "/remove/" not in page(detail)

    response = staff_client.post("/networks/bridge/remove/")

    assert response.status_code == 403
    assert inspect(docker_api, "network", "bridge") is not None
    entry = AuditEntry.objects.get(denied=True)
    assert (entry.action, entry.target, entry.team) == ("network rm", "bridge", "")


# A volume's name in use: the engine hands the volume back as it is


def test_creating_a_volume_under_another_teams_volume_name_is_refused(
    other_admin_client, make, docker_api
):
    theirs = make.volume()

    response = create(other_admin_client, "volume", theirs["Name"])

    assert response.status_code == 409
    assert shows(response, f"A volume named {theirs['Name']} exists already.")
    assert docker_api.inspect_volume(theirs["Name"])["Labels"] == {"berth.team": HOME_TEAM}
    entry = AuditEntry.objects.get(action="volume create")
    assert (entry.succeeded, entry.team) == (False, OTHER_TEAM)


def test_the_bridge_network_shows_a_member_only_their_team_s_containers(viewer_client, make):
    ours = make.container()
    theirs = make.container(team=OTHER_TEAM)

    response = viewer_client.get("/networks/bridge/")

    assert response.status_code == 200
    assert ours["Id"] in page(response)
    assert theirs["Id"] not in page(response)
    assert theirs["Name"].lstrip("/") not in page(response)
    assert "superusers see it" in page(response)
