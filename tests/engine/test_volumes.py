"""The volume pages against the private engine: `docker volume ls`, `create`, `inspect`, `rm`."""

import secrets

import docker
import pytest

from containers_app.models import AuditEntry
from tests.conftest import unique
from tests.engine.markup import flash, page, row, shows


def exists(docker_api, name: str) -> bool:
    try:
        docker_api.inspect_volume(name)
    except docker.errors.NotFound:
        return False
    return True


def labelled(docker_api, marker: str) -> list[dict]:
    return (docker_api.volumes(filters={"label": f"test.marker={marker}"}) or {}).get(
        "Volumes"
    ) or []


# The list: docker volume ls


def test_it_lists_volumes_with_their_name_as_data_id(admin_client, make):
    volume = make.volume(driver="local")

    response = admin_client.get("/volumes/")

    assert response.status_code == 200
    markup = row(response, volume["Name"])
    assert markup, f"no row for {volume['Name']}"
    assert f'id="v-{volume["Name"]}"' in markup
    assert f'href="/volumes/{volume["Name"]}/">{volume["Name"]}</a>' in markup
    assert "<td>local</td>" in markup
    assert " ago</td>" in markup
    assert shows(response, "docker volume ls")
    assert '<code class="cli" id="create-command">docker volume create</code>' in page(response)


def test_it_names_the_containers_using_a_volume(admin_client, make):
    volume = make.volume()
    running = make.container(binds=[f"{volume['Name']}:/data"])
    stopped = make.container(binds=[f"{volume['Name']}:/data:ro"], state="exited")
    unused = make.volume()

    response = admin_client.get("/volumes/")

    markup = row(response, volume["Name"])
    for container in (running, stopped):
        assert f'<span class="badge in-use">{container["Name"].lstrip("/")}</span>' in markup
    assert "badge in-use" not in row(response, unused["Name"])


# Creating: docker volume create


def test_it_creates_a_volume_with_labels_and_options(admin_client, make, docker_api):
    name = unique("v")
    make.volumes.append(name)

    response = admin_client.post(
        "/volumes/",
        {
            "name": name,
            "driver": "local",
            "labels": "test.marker=yes\r\nteam = web ops",
            "options": "type=tmpfs\ndevice=tmpfs\no=size=1m",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/volumes/"
    created = docker_api.inspect_volume(name)
    assert created["Driver"] == "local"
    # With Berth's own label, empty for a superuser's volume of no team.
    assert created["Labels"] == {"berth.team": "", "test.marker": "yes", "team": "web ops"}
    assert created["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}
    command = (
        "docker volume create --driver local --label test.marker=yes --label 'team=web ops' "
        f"--opt type=tmpfs --opt device=tmpfs --opt o=size=1m {name}"
    )
    listed = admin_client.get(response["Location"])
    assert shows(listed, f"Created volume {name}: {command}")
    assert row(listed, name)
    assert AuditEntry.objects.filter(
        action="volume create", target=name, command=command, succeeded=True
    ).exists()


def test_it_lets_the_engine_name_a_volume_given_no_name(admin_client, make, docker_api):
    marker = secrets.token_hex(4)

    response = admin_client.post(
        "/volumes/", {"name": "", "driver": "local", "labels": f"test.marker={marker}"}
    )

    created = labelled(docker_api, marker)
    make.volumes.extend(v["Name"] for v in created)
    assert response.status_code == 302
    assert len(created) == 1
    name = created[0]["Name"]
    assert len(name) == 64
    command = f"docker volume create --driver local --label test.marker={marker}"
    assert shows(admin_client.get("/volumes/"), f"Created volume {name}: {command}")


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"name": "-leading-dash"}, "A volume name has at least two characters"),
        ({"name": "x"}, "A volume name has at least two characters"),
        ({"name": "has space"}, "A volume name has at least two characters"),
        ({"name": "../etc"}, "A volume name has at least two characters"),
        ({"driver": "bad driver"}, "Not a volume driver name."),
        ({"options": "=size"}, "Line 1: write each option as key=value."),
        ({"labels": "ok=1\nbad key=2"}, "Line 2: write each label as key=value."),
    ],
)
def test_it_shows_the_form_again_with_the_error_and_creates_nothing(
    admin_client, docker_api, fields, error
):
    marker = secrets.token_hex(4)
    data = {"driver": "local", "labels": f"test.marker={marker}", **fields}

    response = admin_client.post("/volumes/", data)

    assert response.status_code == 400
    assert shows(response, error)
    assert 'id="volume-create"' in page(response)
    assert '<details class="card" open>' in page(response)
    assert not labelled(docker_api, marker)
    if "name" in fields:
        assert not exists(docker_api, fields["name"])
    assert not AuditEntry.objects.exists()


def test_it_shows_the_form_again_when_the_engine_refuses_an_option(admin_client, make, docker_api):
    name = unique("v")
    make.volumes.append(name)

    response = admin_client.post(
        "/volumes/", {"name": name, "driver": "local", "options": "nosuchoption=1"}
    )

    assert response.status_code == 400
    assert shows(response, "invalid option")
    assert 'id="volume-create"' in page(response)
    assert not exists(docker_api, name)
    assert AuditEntry.objects.filter(target=name, succeeded=False).exists()


def test_a_failed_create_is_recorded_when_the_engine_is_down(admin_client, settings):
    settings.DOCKER_HOST = "unix:///tmp/berth-no-such-engine.sock"
    name = unique("v")

    response = admin_client.post("/volumes/", {"name": name, "driver": "local"})

    assert response.status_code == 503
    assert "The Docker Engine is unavailable" in page(response)
    entry = AuditEntry.objects.get(action="volume create")
    assert entry.target == name
    assert entry.command == f"docker volume create --driver local {name}"
    assert entry.succeeded is False
    assert entry.message == "no such file or directory"


# Who may mount the host's files: only a superuser

HOST_MOUNTS = [
    (
        {"options": "type=none\no=bind\ndevice=/etc"},
        [
            "Option type=none: only a superuser may mount a type other than tmpfs",
            "Option o=bind: bind mounts a folder of the host into the volume; only a superuser "
            "may use it.",
            "Option device=/etc: only a superuser may set a device, which mounts that host path "
            "or device into the volume.",
        ],
    ),
    ({"options": "o=rbind\ndevice=/"}, ["Option o=rbind: rbind mounts a folder of the host"]),
    ({"options": "type=tmpfs\ndevice=/var/lib/docker"}, ["Option device=/var/lib/docker: "]),
    ({"options": "type=ext4\ndevice=/dev/sda1"}, ["Option type=ext4: only a superuser"]),
    (
        {"driver": "vieux/sshfs", "options": "sshcmd=me@host:/"},
        ["Driver vieux/sshfs: only a superuser may use a driver other than local"],
    ),
]


@pytest.mark.parametrize(("fields", "errors"), HOST_MOUNTS)
def test_staff_may_not_create_a_volume_that_mounts_the_host(
    staff_client, make, docker_api, fields, errors
):
    marker = secrets.token_hex(4)
    name = unique("v")
    make.volumes.append(name)  # removed afterwards should it be created all the same
    data = {"name": name, "driver": "local", "labels": f"test.marker={marker}", **fields}

    response = staff_client.post("/volumes/", data)

    assert response.status_code == 400
    for error in errors:
        assert shows(response, error), error
    assert 'id="volume-create"' in page(response)
    assert not exists(docker_api, name)
    assert not labelled(docker_api, marker)


def test_a_superuser_may_create_a_volume_that_binds_a_host_folder(admin_client, make, docker_api):
    name = unique("v")
    make.volumes.append(name)

    response = admin_client.post(
        "/volumes/",
        {"name": name, "driver": "local", "options": "type=none\no=bind\ndevice=/tmp"},
    )

    assert response.status_code == 302
    assert docker_api.inspect_volume(name)["Options"] == {
        "type": "none",
        "o": "bind",
        "device": "/tmp",
    }


@pytest.mark.parametrize("options", ["", "type=tmpfs\ndevice=tmpfs\no=size=1m,mode=700"])
def test_staff_may_create_a_plain_local_volume_or_a_tmpfs(staff_client, make, docker_api, options):
    name = unique("v")
    make.volumes.append(name)

    response = staff_client.post("/volumes/", {"name": name, "driver": "local", "options": options})

    assert response.status_code == 302
    assert docker_api.inspect_volume(name)["Driver"] == "local"
    assert AuditEntry.objects.filter(action="volume create", target=name, succeeded=True).exists()


# Removing: docker volume rm


def test_it_removes_an_unused_volume(admin_client, make, docker_api, htmx):
    volume = make.volume()

    response = admin_client.post(f"/volumes/{volume['Name']}/remove/", **htmx)

    assert response.status_code == 200
    assert not exists(docker_api, volume["Name"])
    assert flash(response) == f"Removed volume {volume['Name']}: docker volume rm {volume['Name']}"
    assert "<tr" not in page(response)
    assert AuditEntry.objects.filter(
        action="volume rm", target=volume["Name"], succeeded=True
    ).exists()


def test_it_removes_a_volume_from_a_plain_form_and_redirects(admin_client, make, docker_api):
    volume = make.volume()

    response = admin_client.post(f"/volumes/{volume['Name']}/remove/")

    assert response.status_code == 302
    assert response["Location"] == "/volumes/"
    assert not exists(docker_api, volume["Name"])
    listed = admin_client.get(response["Location"])
    assert shows(listed, f"Removed volume {volume['Name']}: docker volume rm {volume['Name']}")
    assert row(listed, volume["Name"]) is None


def test_it_force_removes_a_volume_and_says_so(admin_client, make, docker_api, htmx):
    volume = make.volume()

    response = admin_client.post(f"/volumes/{volume['Name']}/remove/", {"force": "1"}, **htmx)

    assert response.status_code == 200
    assert not exists(docker_api, volume["Name"])
    assert flash(response) == (
        f"Removed volume {volume['Name']}: docker volume rm -f {volume['Name']}"
    )


@pytest.mark.parametrize("force", [{}, {"force": "1"}])
def test_it_refuses_to_remove_a_volume_in_use(admin_client, make, docker_api, htmx, force):
    volume = make.volume()
    container = make.container(binds=[f"{volume['Name']}:/data"], state="exited")

    plain = admin_client.post(f"/volumes/{volume['Name']}/remove/", force)
    partial = admin_client.post(f"/volumes/{volume['Name']}/remove/", force, **htmx)

    assert plain.status_code == partial.status_code == 409
    assert f"volume is in use - [{container['Id']}]" in page(plain)
    assert "volume is in use" in flash(partial)
    assert partial["HX-Reswap"] == "none"
    assert exists(docker_api, volume["Name"])


def test_it_answers_404_to_removing_an_unknown_volume(admin_client):
    assert admin_client.post(f"/volumes/{unique('v')}/remove/").status_code == 404


# The detail page: docker volume inspect


def test_it_shows_a_volume_with_its_users_labels_and_options(admin_client, make, docker_api):
    volume = make.volume(
        driver="local",
        driver_opts={"type": "tmpfs", "device": "tmpfs", "o": "size=1m"},
        labels={"berth.test": "detail"},
    )
    user = make.container(binds=[f"{volume['Name']}:/data"])

    response = admin_client.get(f"/volumes/{volume['Name']}/")

    assert response.status_code == 200
    content = page(response)
    inspected = docker_api.inspect_volume(volume["Name"])
    assert f'<dd class="mono">{volume["Name"]}</dd>' in content
    assert f'<dd class="mono">{inspected["Mountpoint"]}</dd>' in content
    assert f'<span class="badge in-use">{user["Name"].lstrip("/")}</span>' in content
    assert '<td class="mono wrap">detail</td>' in content
    assert '<td class="mono wrap">size=1m</td>' in content
    assert shows(response, f"docker volume inspect {volume['Name']}")
    assert shows(response, f'"Name": "{volume["Name"]}"')
    assert f'action="/volumes/{volume["Name"]}/remove/"' in content
    assert shows(response, f"docker volume rm -f {volume['Name']}")


def test_it_answers_404_for_an_unknown_volume(admin_client):
    assert admin_client.get(f"/volumes/{unique('v')}/").status_code == 404
    assert admin_client.get("/volumes/-bad/").status_code == 404


# Who may see and do what


def test_it_sends_anonymous_visitors_to_sign_in(client, make, docker_api):
    volume = make.volume()
    name = unique("v")
    make.volumes.append(name)

    for response in (
        client.get("/volumes/"),
        client.get(f"/volumes/{volume['Name']}/"),
        client.post("/volumes/", {"name": name, "driver": "local"}),
        client.post(f"/volumes/{volume['Name']}/remove/", {"force": "1"}),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=/volumes/")
    assert exists(docker_api, volume["Name"])
    assert not exists(docker_api, name)


def test_it_shows_a_viewer_the_volumes_without_create_or_remove_controls(viewer_client, make):
    volume = make.volume()

    listed = viewer_client.get("/volumes/")
    detail = viewer_client.get(f"/volumes/{volume['Name']}/")

    assert listed.status_code == detail.status_code == 200
    assert row(listed, volume["Name"])
    assert shows(listed, "docker volume ls")
    assert "Create a volume" not in page(listed)
    assert 'id="volume-create"' not in page(listed)
    assert "hx-post" not in page(listed)
    assert "/remove/" not in page(listed) + page(detail)


def test_it_forbids_a_viewer_to_create_or_remove(viewer_client, make, docker_api):
    volume = make.volume()
    name = unique("v")
    make.volumes.append(name)

    created = viewer_client.post("/volumes/", {"name": name, "driver": "local"})
    removed = viewer_client.post(f"/volumes/{volume['Name']}/remove/", {"force": "1"})

    assert created.status_code == removed.status_code == 403
    assert not exists(docker_api, name)
    assert exists(docker_api, volume["Name"])
    # Nothing done, so no change in the trail: only the refused attempts.
    assert not AuditEntry.objects.filter(denied=False).exists()
