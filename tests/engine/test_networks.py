"""The network pages against the private engine: `docker network ls`, `create`, `inspect`, `rm`."""

import random

import docker
import pytest

from containers_app.models import AuditEntry
from tests.conftest import HOME_TEAM, unique
from tests.engine.markup import flash, page, row, shows


def free_subnet() -> tuple[str, str]:
    """A /24 outside the test engine's address pool (10.214.0.0/16), and its gateway."""
    x = random.randrange(256)
    return f"10.250.{x}.0/24", f"10.250.{x}.1"


def named(docker_api, name: str) -> list[dict]:
    """The networks called exactly `name` (the engine's filter also matches parts of names)."""
    return [n for n in docker_api.networks(names=[name]) if n["Name"] == name]


def exists(docker_api, network: str) -> bool:
    try:
        docker_api.inspect_network(network)
    except docker.errors.NotFound:
        return False
    return True


# The list: docker network ls


def test_it_lists_networks_with_their_id_name_driver_and_subnet(admin_client, make):
    subnet, gateway = free_subnet()
    network = make.network(
        driver="bridge",
        internal=True,
        ipam=docker.types.IPAMConfig(
            pool_configs=[docker.types.IPAMPool(subnet=subnet, gateway=gateway)]
        ),
    )

    response = admin_client.get("/networks/")

    assert response.status_code == 200
    markup = row(response, network["Id"])
    assert markup, f"no row for {network['Name']}"
    assert f">{network['Id'][:12]}</a>" in markup
    assert f">{network['Name']}</a>" in markup
    assert "<td>bridge</td>" in markup
    assert "<td>local</td>" in markup
    assert subnet in markup
    assert '<span class="badge">internal</span>' in markup
    assert shows(response, "docker network ls")
    assert '<code class="cli" id="create-command">docker network create</code>' in page(response)


def test_it_counts_the_containers_on_each_network(admin_client, make):
    network = make.network()
    for state in ("running", "exited", "created"):
        make.container(state=state, network_mode=network["Name"])
    empty = make.network()

    response = admin_client.get("/networks/")

    assert "<td>3</td>" in row(response, network["Id"])
    assert "<td>0</td>" in row(response, empty["Id"])


def test_it_offers_no_remove_button_for_the_builtin_networks(admin_client, make, docker_api):
    mine = make.network()

    response = admin_client.get("/networks/")

    assert "Remove</button>" in row(response, mine["Id"])
    for name in ("bridge", "host", "none"):
        builtin = row(response, docker_api.inspect_network(name)["Id"])
        assert builtin, f"no row for {name}"
        assert "Remove</button>" not in builtin
        assert "/remove/" not in builtin
        assert '<span class="badge">built-in</span>' in builtin
        detail = admin_client.get(f"/networks/{name}/")
        assert detail.status_code == 200
        assert "/remove/" not in page(detail)


# Creating: docker network create


def test_a_team_admin_creates_a_network_with_every_option_for_their_team(
    staff_client, make, docker_api
):
    name = unique("n")
    make.networks.append(name)
    subnet, gateway = free_subnet()

    response = staff_client.post(
        "/networks/",
        {
            "name": name,
            "driver": "bridge",
            "subnet": subnet,
            "gateway": gateway,
            "internal": "on",
            "attachable": "on",
            "labels": "test.marker=yes\r\nteam = web ops\r\n\r\nbare",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/networks/"
    created = docker_api.inspect_network(name)
    assert created["Driver"] == "bridge"
    assert created["IPAM"]["Config"] == [{"Subnet": subnet, "Gateway": gateway}]
    assert created["Internal"] is True
    assert created["Attachable"] is True
    assert created["Labels"] == {
        "berth.team": HOME_TEAM,
        "test.marker": "yes",
        "team": "web ops",
        "bare": "",
    }
    command = (
        f"docker network create --driver bridge --subnet {subnet} --gateway {gateway} "
        f"--internal --attachable --label berth.team={HOME_TEAM} --label test.marker=yes "
        f"--label 'team=web ops' --label bare {name}"
    )
    listed = staff_client.get(response["Location"])
    assert shows(listed, f"Created network {name}: {command}")
    assert row(listed, created["Id"])
    assert AuditEntry.objects.filter(
        action="network create", target=name, command=command, succeeded=True, team=HOME_TEAM
    ).exists()


def test_it_creates_a_plain_bridge_network_from_a_name_alone(admin_client, make, docker_api):
    name = unique("n")
    make.networks.append(name)

    response = admin_client.post("/networks/", {"name": name, "driver": "bridge"})

    assert response.status_code == 302
    created = docker_api.inspect_network(name)
    assert (created["Driver"], created["Internal"], created["Attachable"]) == (
        "bridge",
        False,
        False,
    )
    assert shows(
        admin_client.get("/networks/"),
        f"Created network {name}: docker network create --driver bridge {name}",
    )


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"name": "-leading-dash"}, "A network name starts with a letter or digit"),
        ({"name": "has space"}, "A network name starts with a letter or digit"),
        ({"name": "semi;colon"}, "A network name starts with a letter or digit"),
        ({"subnet": "10.250.1.0/33"}, "Not a subnet in CIDR form"),
        ({"subnet": "10.250.1.7/24"}, "Not a subnet in CIDR form"),
        ({"subnet": "not-a-subnet"}, "Not a subnet in CIDR form"),
        (
            {"subnet": "10.250.1.0/24", "gateway": "10.250.2.1"},
            "10.250.2.1 is not in 10.250.1.0/24",
        ),
        ({"gateway": "10.250.1.1"}, "A gateway needs a subnet."),
        ({"gateway": "10.250.1.300", "subnet": "10.250.1.0/24"}, "Not an IP address"),
        ({"driver": "nosuchdriver"}, "Select a valid choice."),
        ({"labels": "=value"}, "Line 1: write each label as key=value."),
    ],
)
def test_it_shows_the_form_again_with_the_error_and_creates_nothing(
    admin_client, make, docker_api, fields, error
):
    name = unique("n")
    make.networks.append(name)
    data = {"name": name, "driver": "bridge", **fields}

    response = admin_client.post("/networks/", data)

    assert response.status_code == 400
    assert shows(response, error)
    assert 'id="network-create"' in page(response)
    assert '<details class="card" open>' in page(response)
    # What was typed is kept.
    assert f'value="{data["name"]}"' in page(response) or data["name"] == ""
    assert not named(docker_api, data["name"])
    assert not AuditEntry.objects.exists()


def test_it_shows_the_form_again_when_the_name_is_taken(admin_client, make, docker_api):
    taken = make.network()

    response = admin_client.post("/networks/", {"name": taken["Name"], "driver": "bridge"})

    assert response.status_code == 409
    assert shows(response, f"network with name {taken['Name']} already exists")
    assert 'id="network-create"' in page(response)
    assert [n["Id"] for n in named(docker_api, taken["Name"])] == [taken["Id"]]
    assert AuditEntry.objects.filter(target=taken["Name"], succeeded=False).exists()


def test_it_shows_the_form_again_when_the_engine_refuses_the_subnet(admin_client, make, docker_api):
    subnet, gateway = free_subnet()
    make.network(
        ipam=docker.types.IPAMConfig(
            pool_configs=[docker.types.IPAMPool(subnet=subnet, gateway=gateway)]
        )
    )
    name = unique("n")
    make.networks.append(name)

    response = admin_client.post("/networks/", {"name": name, "driver": "bridge", "subnet": subnet})

    assert 400 <= response.status_code < 500
    assert shows(response, "overlaps")
    assert 'id="network-create"' in page(response)
    assert not named(docker_api, name)


def test_a_failed_create_is_recorded_when_the_engine_is_down(admin_client, settings):
    settings.DOCKER_HOST = "unix:///tmp/berth-no-such-engine.sock"
    name = unique("n")

    response = admin_client.post("/networks/", {"name": name, "driver": "bridge", "internal": "on"})

    assert response.status_code == 503
    assert "The Docker Engine is unavailable" in page(response)
    entry = AuditEntry.objects.get(action="network create")
    assert entry.target == name
    assert entry.command == f"docker network create --driver bridge --internal {name}"
    assert entry.succeeded is False
    assert entry.message == "no such file or directory"


# Removing: docker network rm


def test_it_removes_an_unused_network(admin_client, make, docker_api, htmx):
    network = make.network()

    response = admin_client.post(f"/networks/{network['Id']}/remove/", **htmx)

    assert response.status_code == 200
    assert not exists(docker_api, network["Id"])
    assert flash(response) == f"Removed network: docker network rm {network['Name']}"
    assert "<tr" not in page(response)


def test_it_removes_a_network_from_a_plain_form_and_redirects(admin_client, make, docker_api):
    network = make.network()

    response = admin_client.post(f"/networks/{network['Name']}/remove/")

    assert response.status_code == 302
    assert response["Location"] == "/networks/"
    assert not exists(docker_api, network["Id"])
    assert shows(
        admin_client.get(response["Location"]),
        f"Removed network: docker network rm {network['Name']}",
    )


def test_it_refuses_to_remove_a_network_a_container_is_attached_to(
    admin_client, make, docker_api, htmx
):
    network = make.network()
    make.container(network_mode=network["Name"])

    plain = admin_client.post(f"/networks/{network['Id']}/remove/")
    partial = admin_client.post(f"/networks/{network['Id']}/remove/", **htmx)

    assert plain.status_code == partial.status_code == 409
    assert "has active endpoints" in page(plain)
    assert "has active endpoints" in flash(partial)
    assert partial["HX-Reswap"] == "none"
    assert exists(docker_api, network["Id"])
    assert AuditEntry.objects.filter(action="network rm", succeeded=False).count() == 2


def test_it_answers_404_to_removing_an_unknown_network(admin_client):
    assert admin_client.post(f"/networks/{unique('n')}/remove/").status_code == 404


# The detail page: docker network inspect


def test_it_shows_the_containers_attached_to_a_network(admin_client, make, docker_api):
    subnet, gateway = free_subnet()
    network = make.network(
        labels={"berth.test": "detail"},
        ipam=docker.types.IPAMConfig(
            pool_configs=[docker.types.IPAMPool(subnet=subnet, gateway=gateway)]
        ),
    )
    by_mode = make.container(network_mode=network["Name"])
    connected = make.container()
    docker_api.connect_container_to_network(connected["Id"], network["Id"])

    response = admin_client.get(f"/networks/{network['Id']}/")

    assert response.status_code == 200
    attached = docker_api.inspect_network(network["Id"])["Containers"]
    assert set(attached) == {by_mode["Id"], connected["Id"]}
    for container_id, endpoint in attached.items():
        markup = row(response, container_id)
        assert markup, f"no row for {endpoint['Name']}"
        assert f'href="/containers/{container_id}/">{endpoint["Name"]}</a>' in markup
        assert endpoint["IPv4Address"] in markup
        assert endpoint["MacAddress"] in markup
    assert subnet in page(response) and gateway in page(response)
    assert "berth.test" in page(response)
    assert shows(response, f"docker network inspect {network['Name']}")
    assert shows(response, f'"Id": "{network["Id"]}"')
    assert f'action="/networks/{network["Id"]}/remove/"' in page(response)


def test_it_shows_a_network_with_no_container_attached(admin_client, make):
    network = make.network()

    response = admin_client.get(f"/networks/{network['Name']}/")

    assert response.status_code == 200
    assert "No container is attached." in page(response)


def test_it_answers_404_for_an_unknown_network(admin_client):
    assert admin_client.get(f"/networks/{unique('n')}/").status_code == 404
    assert admin_client.get("/networks/-bad/").status_code == 404


# Who may see and do what


def test_it_sends_anonymous_visitors_to_sign_in(client, make, docker_api):
    network = make.network()
    name = unique("n")
    make.networks.append(name)

    for response in (
        client.get("/networks/"),
        client.get(f"/networks/{network['Id']}/"),
        client.post("/networks/", {"name": name, "driver": "bridge"}),
        client.post(f"/networks/{network['Id']}/remove/"),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=/networks/")
    assert exists(docker_api, network["Id"])
    assert not named(docker_api, name)


def test_it_shows_a_viewer_the_networks_without_create_or_remove_controls(viewer_client, make):
    network = make.network()

    listed = viewer_client.get("/networks/")
    detail = viewer_client.get(f"/networks/{network['Id']}/")

    assert listed.status_code == detail.status_code == 200
    assert row(listed, network["Id"])
    assert shows(listed, "docker network ls")
    assert "Create a network" not in page(listed)
    assert 'id="network-create"' not in page(listed)
    assert "hx-post" not in page(listed)
    assert "/remove/" not in page(listed) + page(detail)


def test_it_forbids_a_viewer_to_create_or_remove(viewer_client, make, docker_api):
    network = make.network()
    name = unique("n")
    make.networks.append(name)

    created = viewer_client.post("/networks/", {"name": name, "driver": "bridge"})
    removed = viewer_client.post(f"/networks/{network['Id']}/remove/")

    assert created.status_code == removed.status_code == 403
    assert not named(docker_api, name)
    assert exists(docker_api, network["Id"])
    # Nothing done, so no change in the trail: only the refused attempts.
    assert not AuditEntry.objects.filter(denied=False).exists()
