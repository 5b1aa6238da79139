"""A team's policy on the real engine: each rule refused on run and on recreate with its
message, nothing made or changed; a run within it carries the team's label; run similar and
the commit and recreate buttons of another team's container; the policy's own page."""

import html
import re
import secrets

import pytest
from django.test import Client

from containers_app.models import AuditEntry, Job, Team
from tests.conftest import (
    HOME_TEAM,
    OTHER_TEAM,
    STOPPABLE,
    TEAM_LABEL,
    TEST_IMAGE,
    made_by,
    member,
    unique,
)
from tests.engine.jobs_helpers import job_of

pytestmark = pytest.mark.django_db(transaction=True)
MIB, GIB = 1024**2, 1024**3


def text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def team() -> str:
    """A team of its own, so that its count of containers is this test's alone."""
    slug = f"policy-{secrets.token_hex(3)}"
    Team.objects.create(slug=slug, name=slug)
    return slug


@pytest.fixture
def team_admin(team) -> Client:
    client = Client()
    client.force_login(member(f"padmin-{secrets.token_hex(3)}", team, "admin"))
    return client


def set_policy(team: str, **rules) -> None:
    Team.objects.filter(slug=team).update(**rules)


def run(client, make, team: str | None, **fields):
    """POSTs the run form for `team` with a fresh name; whatever it makes is removed after."""
    name = unique("pol")
    make.containers.append(name)
    data = {"image": TEST_IMAGE, "restart": "no", "detach": "on", "name": name, **fields}
    if team is not None:
        data["team"] = team
    return name, client.post("/containers/run/", data)


def exists(docker_api, name: str) -> bool:
    return bool(docker_api.containers(all=True, filters={"name": f"^/{name}$"}))


def field_errors(response) -> str:
    """The errors the run page shows, on its fields and above them."""
    found = re.findall(
        r'class="(?:field-error|flash error)"[^>]*>(.*?)</(?:span|div)>', text(response), re.S
    )
    return " ".join(found)


# --- run ------------------------------------------------------------------------------------

RUN_RULES = [
    pytest.param(
        {"image_patterns": "nginx:*\nredis:*"},
        {},
        f"The image {TEST_IMAGE} is not one team {{team}} may run: its images match "
        "nginx:*, redis:*.",
        id="image",
    ),
    pytest.param(
        {"port_min": 20000, "port_max": 20099},
        {"publish": "30000:80"},
        "-p 127.0.0.1:30000:80 binds host port 30000, outside team {team}'s host ports "
        "(20000 to 20099).",
        id="port outside the range",
    ),
    pytest.param(
        {"port_min": 20000, "port_max": 20099},
        {"publish": "80"},
        "-p 127.0.0.1::80 lets the engine choose the host port, which could be any",
        id="port the engine picks",
    ),
    pytest.param(
        {"memory_max": 64 * MIB},
        {},
        "Team {team}'s containers have a memory limit: set -m to 64m or less.",
        id="no memory limit",
    ),
    pytest.param(
        {"memory_max": 64 * MIB},
        {"memory": "128m"},
        "-m 128m is above team {team}'s cap of 64m per container.",
        id="memory above the cap",
    ),
    pytest.param(
        {"cpus_max": 0.5},
        {},
        "Team {team}'s containers have a CPU limit: set --cpus to 0.5 or less.",
        id="no cpu limit",
    ),
    pytest.param(
        {"cpus_max": 0.5},
        {"cpus": "1"},
        "--cpus 1 is above team {team}'s cap of 0.5 per container.",
        id="cpus above the cap",
    ),
]


@pytest.mark.parametrize(("rules", "fields", "says"), RUN_RULES)
def test_a_run_that_breaks_a_rule_is_refused_with_its_message_and_makes_nothing(
    team, team_admin, make, docker_api, rules, fields, says
):
    set_policy(team, **rules)

    name, response = run(team_admin, make, team, command="sleep 600", **fields)

    assert response.status_code == 400
    assert says.format(team=team) in field_errors(response)
    assert not exists(docker_api, name)
    entry = AuditEntry.objects.get(action="run")
    assert entry.denied and entry.team == team and says.format(team=team) in entry.message


def test_a_run_is_refused_once_the_team_has_its_maximum_of_containers(
    team, team_admin, make, docker_api
):
    make.container(team=team, state="exited")
    make.container(team=team, state="running")
    set_policy(team, containers_max=2)

    name, response = run(team_admin, make, team)

    assert response.status_code == 400
    assert (
        f"Team {team} has 2 containers, its maximum is 2: remove one before running another."
        in field_errors(response)
    )
    assert not exists(docker_api, name)


def test_an_image_the_engine_lacks_is_refused_by_the_policy_before_any_pull(
    team, team_admin, make, docker_api
):
    set_policy(team, image_patterns="nginx:*")

    name, response = run(team_admin, make, team, image="berthtest-local/absent:1")

    assert response.status_code == 400
    assert "The image berthtest-local/absent:1 is not one team" in field_errors(response)
    assert not Job.objects.exists()
    assert not exists(docker_api, name)


def test_a_run_within_the_policy_succeeds_and_the_container_carries_the_teams_label(
    team, team_admin, make, docker_api
):
    make.container(team=team)
    made_by(docker_api.inspect_image(TEST_IMAGE)["Id"], team)  # the team's own image
    set_policy(
        team,
        image_patterns="berth-test/*",
        port_min=20000,
        port_max=20099,
        memory_max=64 * MIB,
        cpus_max=0.5,
        containers_max=2,
    )

    name, response = run(
        team_admin,
        make,
        team,
        command="sleep 600",
        publish="20042:80",
        memory="64m",
        cpus="0.5",
    )

    assert response.status_code == 302, field_errors(response)
    container = docker_api.inspect_container(name)
    assert container["Config"]["Labels"][TEAM_LABEL] == team
    assert container["HostConfig"]["Memory"] == 64 * MIB
    assert container["HostConfig"]["NanoCpus"] == 500_000_000
    entry = AuditEntry.objects.get(action="run")
    assert entry.succeeded and not entry.denied and entry.team == team
    assert f"--label {TEAM_LABEL}={team}" in entry.command


def test_a_superuser_running_for_a_team_is_held_to_its_policy(team, admin_client, make, docker_api):
    set_policy(team, memory_max=64 * MIB)

    name, response = run(admin_client, make, team, memory="1g")

    assert response.status_code == 400
    assert f"-m 1g is above team {team}'s cap of 64m per container." in field_errors(response)
    assert not exists(docker_api, name)


def test_a_superusers_container_of_no_team_has_no_policy(team, admin_client, make, docker_api):
    set_policy(team, image_patterns="nginx:*", memory_max=64 * MIB)

    name, response = run(admin_client, make, "", command="sleep 600")

    assert response.status_code == 302, field_errors(response)
    # Berth's own label of no team: an image's label may not claim it.
    assert docker_api.inspect_container(name)["Config"]["Labels"][TEAM_LABEL] == ""


def test_the_run_form_shows_the_policy_of_the_users_teams_before_it_is_sent(team, team_admin):
    set_policy(team, image_patterns="nginx:*", port_min=20000, port_max=20099, memory_max=64 * MIB)

    page = text(team_admin.get("/containers/run/"))

    policies = re.search(r'<details class="card team-policies".*?</details>', page, re.S)[0]
    assert f"<dt>{team}</dt>" in policies
    assert "Images matching nginx:*" in policies
    assert "Published on host ports 20000 to 20099, each port given (-p)" in policies
    assert "A memory limit (-m) of at most 64m" in policies


def test_the_preview_says_what_the_teams_policy_refuses_before_the_form_is_sent(
    team, team_admin, docker_api
):
    set_policy(team, cpus_max=0.5)
    name = unique("pol")

    response = team_admin.post(
        "/containers/run/preview/",
        {"image": TEST_IMAGE, "restart": "no", "detach": "on", "name": name, "cpus": "2"},
    )

    assert response.status_code == 200
    assert f"--label {TEAM_LABEL}={team}" in text(response)
    assert "The team's policy refuses this:" in text(response)
    assert f"--cpus 2 is above team {team}'s cap of 0.5 per container." in text(response)
    assert not exists(docker_api, name)


def test_a_team_admin_may_not_run_for_a_team_they_are_not_an_admin_of(
    staff_client, make, docker_api, team
):
    name, response = run(staff_client, make, team)

    assert response.status_code == 400
    assert "Choose one of your teams." in field_errors(response)
    assert not exists(docker_api, name)


# --- recreate -------------------------------------------------------------------------------

RECREATE_RULES = [
    pytest.param(
        {"image_patterns": "nginx:*"},
        {},
        f"The image {TEST_IMAGE} is not one team {{team}} may run",
        id="image",
    ),
    pytest.param(
        {"port_min": 20000, "port_max": 20099},
        {"port_bindings": {80: ("127.0.0.1", 30000)}},
        "-p 127.0.0.1:30000:80 binds host port 30000, outside team {team}'s host ports",
        id="port outside the range",
    ),
    pytest.param(
        {"port_min": 20000, "port_max": 20099},
        {"port_bindings": {80: ("127.0.0.1", None)}},
        "-p 127.0.0.1::80 lets the engine choose the host port",
        id="port the engine picks",
    ),
    pytest.param(
        {"port_min": 20000, "port_max": 20099},
        {"publish_all_ports": True},
        "--publish-all lets the engine choose the host ports",
        id="publish all",
    ),
    pytest.param(
        {"memory_max": 64 * MIB},
        {},
        "Team {team}'s containers have a memory limit: set -m to 64m or less.",
        id="no memory limit",
    ),
    pytest.param(
        {"memory_max": 64 * MIB},
        {"mem_limit": 128 * MIB},
        "-m 128m is above team {team}'s cap of 64m per container.",
        id="memory above the cap",
    ),
    pytest.param(
        {"cpus_max": 0.5},
        {},
        "Team {team}'s containers have a CPU limit: set --cpus to 0.5 or less.",
        id="no cpu limit",
    ),
    pytest.param(
        {"cpus_max": 0.5},
        {"nano_cpus": 1_000_000_000},
        "--cpus 1 is above team {team}'s cap of 0.5 per container.",
        id="cpus above the cap",
    ),
]


@pytest.mark.parametrize(("rules", "options", "says"), RECREATE_RULES)
def test_a_recreate_that_breaks_a_rule_is_refused_with_its_message_and_changes_nothing(
    team, team_admin, make, docker_api, rules, options, says
):
    container = make.container(team=team, command=STOPPABLE, **options)
    set_policy(team, **rules)

    response = team_admin.post(f"/containers/{container['Id']}/recreate/")

    assert response.status_code == 403
    assert f"{container['Name'].lstrip('/')} was not recreated: " in text(response)
    assert says.format(team=team) in text(response)
    assert not Job.objects.exists()
    after = docker_api.inspect_container(container["Name"].lstrip("/"))
    assert after["Id"] == container["Id"] and after["State"]["Running"]
    assert after["State"]["StartedAt"] == container["State"]["StartedAt"]
    entry = AuditEntry.objects.get(action="recreate")
    assert entry.denied and entry.team == team and says.format(team=team) in entry.message


def test_a_recreate_within_the_policy_is_made_even_when_the_team_is_at_its_maximum(
    team, team_admin, make, docker_api
):
    container = make.container(
        team=team,
        command=STOPPABLE,
        port_bindings={80: ("127.0.0.1", 20050)},
        mem_limit=64 * MIB,
        nano_cpus=500_000_000,
    )
    made_by(docker_api.inspect_image(TEST_IMAGE)["Id"], team)  # the team's own image
    set_policy(
        team,
        image_patterns="berth-test/*",
        port_min=20000,
        port_max=20099,
        memory_max=64 * MIB,
        cpus_max=0.5,
        containers_max=1,
    )
    name = container["Name"].lstrip("/")

    job = job_of(team_admin.post(f"/containers/{name}/recreate/"))

    new = docker_api.inspect_container(name)
    make.containers.append(new["Id"])
    assert job.state == Job.DONE, (job.result, job.output)
    assert new["Id"] != container["Id"]
    assert new["Config"]["Labels"][TEAM_LABEL] == team
    assert job.team == team and AuditEntry.objects.get(action="recreate").team == team


# --- run similar, commit and recreate of another team's container ------------------------------


def test_run_similar_fills_the_form_without_berths_labels_and_with_the_originals_team(
    staff_client, make
):
    container = make.container(labels={"tier": "web"})

    page = text(staff_client.get(f"/containers/{container['Id']}/run-similar/"))

    labels = re.search(r'<textarea name="label"[^>]*>(.*?)</textarea>', page, re.S)[1]
    assert labels.strip() == "tier=web"
    assert "berth." not in labels
    chosen = re.search(r'<select name="team"[^>]*>.*?</select>', page, re.S)[0]
    assert re.search(rf'<option value="{HOME_TEAM}" selected>', chosen)
    assert f"--label {TEAM_LABEL}={HOME_TEAM} --label tier=web" in page


def test_run_similar_shows_what_the_teams_policy_would_refuse_of_the_copy(staff_client, make):
    container = make.container()
    set_policy(HOME_TEAM, memory_max=64 * MIB)

    page = text(staff_client.get(f"/containers/{container['Id']}/run-similar/"))

    assert f"Team {HOME_TEAM}'s containers have a memory limit" in page


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "run-similar/"),
        ("post", "commit/"),
        ("post", "recreate/"),
    ],
)
def test_another_teams_admin_gets_a_404_on_the_home_teams_container(
    other_admin_client, make, docker_api, method, path
):
    container = make.container(command=STOPPABLE)
    data = {"repository": f"berthtest-local/{unique('commit')}"} if path == "commit/" else {}

    response = getattr(other_admin_client, method)(f"/containers/{container['Id']}/{path}", data)

    assert response.status_code == 404
    assert f"No such container: {container['Id']}" in text(response)
    assert not Job.objects.exists()
    after = docker_api.inspect_container(container["Id"])
    assert after["State"]["StartedAt"] == container["State"]["StartedAt"]


def test_an_operator_may_not_copy_commit_or_recreate_the_teams_container(operator_client, make):
    container = make.container(command=STOPPABLE)

    copied = operator_client.get(f"/containers/{container['Id']}/run-similar/")

    committed = operator_client.post(
        f"/containers/{container['Id']}/commit/",
        {"repository": f"berthtest-local/{unique('commit')}"},
    )
    recreated = operator_client.post(f"/containers/{container['Id']}/recreate/")

    assert copied.status_code == 403 and "Only the team's admins may do this." in text(copied)
    assert committed.status_code == 403 and recreated.status_code == 403
    assert not Job.objects.exists()
    assert {(e.action, e.denied, e.team) for e in AuditEntry.objects.all()} == {
        ("run similar", True, HOME_TEAM),
        ("commit", True, HOME_TEAM),
        ("recreate", True, HOME_TEAM),
    }


# --- the team's policy page ---------------------------------------------------------------------

POLICY = {
    "image_patterns": "nginx:*\nberth-test/*",
    "port_min": "20000",
    "port_max": "20099",
    "memory_max": "512m",
    "cpus_max": "1.5",
    "containers_max": "5",
}


def test_a_superuser_sets_the_teams_policy_and_the_audit_says_what_changed(
    team, team_admin, admin_client
):
    set_policy(team, containers_max=9)

    response = admin_client.post(f"/teams/{team}/policy/", POLICY)

    assert response.status_code == 302 and response["Location"] == f"/teams/{team}/"
    saved = Team.objects.get(slug=team)
    assert saved.image_patterns == "nginx:*\nberth-test/*"
    assert (saved.port_min, saved.port_max, saved.memory_max) == (20000, 20099, 512 * MIB)
    assert (saved.cpus_max, saved.containers_max) == (1.5, 5)
    entry = AuditEntry.objects.get(action="team policy")
    assert entry.succeeded and entry.team == team and entry.target == team
    assert entry.command == (
        f"team policy {team}: images nginx:*,berth-test/* (was any); host ports 20000-20099 "
        "(was any); memory max 512m (was none); cpus max 1.5 (was none); containers max 5 "
        "(was 9)"
    )
    page = text(team_admin.get(f"/teams/{team}/"))
    lines = re.search(r'<ul id="policy-lines">(.*?)</ul>', page, re.S)[1]
    assert "Images matching nginx:*, berth-test/*" in lines
    assert "At most 5 containers, in any state" in lines
    # The team's admins read it; only a superuser changes it.
    assert 'id="policy-form"' not in page
    assert 'id="policy-form"' in text(admin_client.get(f"/teams/{team}/"))


def test_a_team_admin_may_not_blank_or_loosen_the_policy_a_superuser_set(team, team_admin):
    set_policy(team, memory_max=GIB, containers_max=2, image_patterns="berth-test/*")

    blanked = team_admin.post(f"/teams/{team}/policy/", {})
    loosened = team_admin.post(f"/teams/{team}/policy/", {"containers_max": "99"})

    assert blanked.status_code == 403 and loosened.status_code == 403
    assert "Only a superuser may change a team&#x27;s policy" in blanked.content.decode()
    saved = Team.objects.get(slug=team)
    assert (saved.memory_max, saved.containers_max) == (GIB, 2)
    assert saved.image_patterns == "berth-test/*"
    refused = AuditEntry.objects.filter(action="team policy")
    assert refused.count() == 2 and all(e.denied and e.team == team for e in refused)


def test_a_policy_left_blank_is_no_limit(team, admin_client):
    set_policy(team, memory_max=GIB, port_min=1, port_max=2)

    response = admin_client.post(f"/teams/{team}/policy/", {})

    assert response.status_code == 302
    saved = Team.objects.get(slug=team)
    assert (saved.memory_max, saved.port_min, saved.port_max) == (None, None, None)


def test_a_bad_policy_is_a_400_with_the_form_and_its_errors(team, admin_client):
    response = admin_client.post(f"/teams/{team}/policy/", {"port_min": "9000", "port_max": "80"})

    assert response.status_code == 400
    assert "The highest port is at least the lowest (9000)." in text(response)
    assert Team.objects.get(slug=team).port_min is None
    assert not AuditEntry.objects.filter(action="team policy").exists()


def test_a_superuser_sets_any_teams_policy(team, admin_client):
    response = admin_client.post(f"/teams/{team}/policy/", {"memory_max": "1g"})

    assert response.status_code == 302
    assert Team.objects.get(slug=team).memory_max == GIB


def test_a_member_who_is_not_an_admin_gets_a_403_and_the_attempt_is_audited(viewer_client):
    response = viewer_client.post(f"/teams/{HOME_TEAM}/policy/", {"memory_max": "1g"})

    assert response.status_code == 403
    assert Team.objects.get(slug=HOME_TEAM).memory_max is None
    entry = AuditEntry.objects.get(action="team policy")
    assert entry.denied and entry.team == HOME_TEAM


def test_someone_outside_the_team_gets_a_404_as_if_it_did_not_exist(other_admin_client, team):
    response = other_admin_client.post(f"/teams/{team}/policy/", {"memory_max": "1g"})
    missing = other_admin_client.post("/teams/no-such-team/policy/", {"memory_max": "1g"})

    assert response.status_code == 404 and missing.status_code == 404
    assert Team.objects.get(slug=team).memory_max is None


def test_members_see_the_policy_but_not_its_form(viewer_client):
    page = text(viewer_client.get(f"/teams/{HOME_TEAM}/"))

    assert "Registries 127.0.0.1:*, docker.io" in page  # the test teams' policy
    assert 'id="policy-form"' not in page


# --- another team's volumes and networks ---------------------------------------------------------


@pytest.mark.parametrize("owner", [OTHER_TEAM, None])
def test_a_run_may_not_mount_a_volume_of_another_team_or_of_none(
    owner, staff_client, make, docker_api
):
    theirs = make.volume(team=owner)["Name"]

    name, response = run(staff_client, make, HOME_TEAM, volume=f"{theirs}:/data")

    assert response.status_code == 403
    assert f"The volume {theirs} is not one of the team's volumes" in text(response)
    assert not exists(docker_api, name)


@pytest.mark.parametrize("owner", [OTHER_TEAM, None])
def test_a_run_may_not_join_a_network_of_another_team_or_of_none(
    owner, staff_client, make, docker_api
):
    theirs = make.network(team=owner)["Name"]

    name, response = run(staff_client, make, HOME_TEAM, network=theirs)

    assert response.status_code == 403
    assert f"The network {theirs} is not one of the team's networks" in text(response)
    assert not exists(docker_api, name)


def test_a_run_mounts_its_own_team_s_volume_and_joins_its_network(staff_client, make, docker_api):
    volume, network = make.volume()["Name"], make.network()["Name"]

    name, response = run(staff_client, make, HOME_TEAM, volume=f"{volume}:/data", network=network)

    assert response.status_code == 302, text(response)
    mounted = docker_api.inspect_container(name)
    assert [m["Name"] for m in mounted["Mounts"]] == [volume]
    assert network in mounted["NetworkSettings"]["Networks"]


def test_a_recreate_of_a_container_on_another_team_s_network_is_refused(
    staff_client, make, docker_api
):
    theirs = make.network(team=OTHER_TEAM)["Name"]
    container = make.container(command=STOPPABLE, network_mode=theirs)

    response = staff_client.post(f"/containers/{container['Id']}/recreate/")

    assert response.status_code == 403
    assert f"The network {theirs} is not one of the team's networks" in text(response)
