"""Commit and recreate without an engine: their command lines, the commit form, and what a
recreate creates from a container's inspect data."""

import shlex

import pytest

from containers_app import cli
from containers_app.engine.recreate import create_body, reaches_the_host
from containers_app.engine.specs import ContainerSpec
from containers_app.forms import ContainerCommitForm, ContainerRecreateForm

OLD_ID = "0123456789ab" + "c" * 52


# --- command lines --------------------------------------------------------------------------


def test_a_commit_line_pauses_by_default_as_docker_does():
    assert cli.container_commit("web", "snap:1") == "docker commit web snap:1"


def test_a_commit_line_says_pause_false_message_author_and_each_change():
    line = cli.container_commit(
        "web",
        "registry:5000/snap:1",
        pause=False,
        message="before the upgrade",
        author="Ann <ann@example.com>",
        changes=['CMD ["sh"]', "ENV A=1"],
    )

    assert shlex.split(line) == [
        "docker", "commit", "--pause=false",
        "-m", "before the upgrade", "-a", "Ann <ann@example.com>",
        "-c", 'CMD ["sh"]', "-c", "ENV A=1",
        "web", "registry:5000/snap:1",
    ]  # fmt: skip


def test_a_recreate_line_renames_stops_creates_connects_starts_then_removes():
    spec = ContainerSpec(image="nginx:1", name="web", network="front", env=("A=1",))

    line = cli.container_recreate(
        spec, old_name="web-berth-old-abcdef", pull=True, networks=["back"]
    )

    assert line.split(" && ") == [
        "docker pull nginx:1",
        "docker rename web web-berth-old-abcdef",
        "docker stop web-berth-old-abcdef",
        "docker create --name web -e A=1 --network front nginx:1",
        "docker network connect back web",
        "docker start web",
        "docker rm web-berth-old-abcdef",
    ]


def test_a_recreate_line_of_a_stopped_container_neither_stops_nor_starts_and_names_the_rest():
    spec = ContainerSpec(image="nginx:1", name="web")

    line = cli.container_recreate(
        spec, old_name="web-berth-old-abcdef", running=False, also=["--dns", "--init"]
    )

    assert line == (
        "docker rename web web-berth-old-abcdef && docker create --name web nginx:1 && "
        "docker rm web-berth-old-abcdef  # also copied: --dns, --init"
    )


def test_a_recreate_line_of_a_paused_container_unpauses_it_before_the_stop():
    line = cli.container_recreate(
        ContainerSpec(image="nginx:1", name="web"), old_name="web-old", paused=True
    )

    assert "docker rename web web-old && docker unpause web-old && docker stop web-old" in line


def test_a_recreate_line_masks_secret_values_when_asked():
    spec = ContainerSpec(image="db:1", name="db", env=("DB_PASSWORD=hunter2",))

    line = cli.container_recreate(spec, old_name="db-old", masked=True)

    assert "hunter2" not in line and "DB_PASSWORD=" in line


# --- the commit form ------------------------------------------------------------------------


def commit_form(**data) -> ContainerCommitForm:
    form = ContainerCommitForm({"repository": "berthtest/snap", **data})
    form.is_valid()
    return form


def test_the_commit_form_pauses_unless_told_not_to():
    assert commit_form().cleaned_data["pause"] is True
    assert commit_form(pause="1").cleaned_data["pause"] is True
    assert commit_form(pause="0").cleaned_data["pause"] is False
    assert commit_form(pause="off").cleaned_data["pause"] is False
    assert "pause" in commit_form(pause="sometimes").errors


def test_the_commit_form_shows_pause_on_as_its_default():
    assert '<option value="1" selected>' in str(ContainerCommitForm()["pause"])


def test_a_repository_without_a_tag_is_tagged_latest():
    data = commit_form().cleaned_data

    assert (data["repository"], data["tag"], data["reference"]) == (
        "berthtest/snap",
        "latest",
        "berthtest/snap:latest",
    )


def test_a_tag_may_come_in_the_repository_or_its_own_field_but_not_two_different_ones():
    assert commit_form(repository="localhost:5000/snap:v2").cleaned_data["reference"] == (
        "localhost:5000/snap:v2"
    )
    assert commit_form(tag="v3").cleaned_data["reference"] == "berthtest/snap:v3"
    assert commit_form(repository="snap:v2", tag="v2").is_valid()
    assert "tag" in commit_form(repository="snap:v2", tag="v3").errors


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("repository", "Upper/Case"),
        ("repository", "snap@sha256:" + "0" * 64),
        ("repository", ""),
        ("tag", ".dot"),
        ("tag", "a/b"),
        ("message", "two\x00parts"),
        ("author", "line\nbreak"),
    ],
)
def test_bad_commit_input_is_refused_on_its_field(field, value):
    assert field in commit_form(**{field: value}).errors


def test_each_change_docker_commit_takes_is_kept_one_a_line_its_instruction_upper_cased():
    changes = 'cmd ["sh"]\n\nENTRYPOINT ["/init"]\nENV A=1 B=2\nEXPOSE 80/udp\nLABEL a=b\n'
    changes += "ONBUILD RUN true\nUSER 1000\nVOLUME /data\nWORKDIR\t/srv\n"

    form = commit_form(change=changes)

    assert form.is_valid(), form.errors
    assert form.cleaned_data["change"] == [
        'CMD ["sh"]', 'ENTRYPOINT ["/init"]', "ENV A=1 B=2", "EXPOSE 80/udp", "LABEL a=b",
        "ONBUILD RUN true", "USER 1000", "VOLUME /data", "WORKDIR /srv",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("RUN rm -rf /", "not RUN"),
        ("COPY . /", "not COPY"),
        ("FROM scratch", "not FROM"),
        ("HEALTHCHECK NONE", "not HEALTHCHECK"),
        ("ENV", "ENV needs a value"),
    ],
)
def test_a_change_docker_commit_does_not_take_is_refused_with_its_line(line, words):
    form = commit_form(change=f"ENV A=1\n{line}")

    assert not form.is_valid()
    assert "Line 2: " in form.errors["change"][0] and words in form.errors["change"][0]


@pytest.mark.parametrize(
    "line",
    [
        "LABEL berth.team=other",
        "LABEL a=b Berth.Team=other",
        'LABEL "berth.team"=other',
        "LABEL berth.team other",
        "label berth.screen=yes",
    ],
)
def test_a_change_that_sets_a_label_only_berth_sets_is_refused(line):
    form = commit_form(change=line)

    assert not form.is_valid()
    assert "set by Berth and Docker Compose only" in form.errors["change"][0]


def test_a_label_change_whose_value_names_berth_is_kept():
    form = commit_form(change='LABEL description="made with berth.example"')

    assert form.is_valid(), form.errors


def test_the_recreate_form_pulls_only_when_asked():
    assert ContainerRecreateForm({}).is_valid()
    form = ContainerRecreateForm({})
    form.is_valid()
    assert form.cleaned_data["pull"] is False
    form = ContainerRecreateForm({"pull": "1"})
    form.is_valid()
    assert form.cleaned_data["pull"] is True


# --- what a recreate creates ----------------------------------------------------------------


def inspect(**overrides) -> dict:
    """A container's inspect data as the engine gives it, trimmed to what matters here."""
    data = {
        "Id": OLD_ID,
        "Name": "/web",
        "Image": "sha256:" + "1" * 64,
        "Config": {
            "Hostname": OLD_ID[:12],
            "Image": "nginx:1",
            "Env": ["PATH=/usr/bin", "A=1"],
            "Cmd": ["nginx", "-g", "daemon off;"],
            "Entrypoint": ["/docker-entrypoint.sh"],
            "WorkingDir": "/",
            "Labels": {"maintainer": "NGINX", "com.docker.compose.project": "shop"},
            "ExposedPorts": {"80/tcp": {}},
            "Volumes": {"/cache": {}},
            "StopSignal": "SIGQUIT",
        },
        "HostConfig": {
            "NetworkMode": "front",
            "Binds": ["data:/data"],
            "PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]},
            "RestartPolicy": {"Name": "always", "MaximumRetryCount": 0},
            "Dns": ["10.0.0.2"],
            "ExtraHosts": ["db:10.0.0.3"],
            "Init": True,
            "Links": None,
        },
        "Mounts": [
            {"Type": "volume", "Name": "data", "Destination": "/data", "RW": True},
            {"Type": "volume", "Name": "f" * 64, "Destination": "/cache", "RW": True},
        ],
        "NetworkSettings": {
            "Networks": {
                "front": {
                    "NetworkID": "a" * 64,
                    "Aliases": ["web", OLD_ID[:12]],
                    "IPAMConfig": {"IPv4Address": "172.30.0.5"},
                    "IPAddress": "172.30.0.5",
                    "MacAddress": "02:42:ac:1e:00:05",
                    "EndpointID": "e" * 64,
                },
                "back": {
                    "NetworkID": "b" * 64,
                    "Aliases": [OLD_ID[:12]],
                    "IPAMConfig": None,
                    "IPAddress": "172.31.0.9",
                },
            }
        },
    }
    for key, value in overrides.items():
        data[key] = value
    return data


IMAGE = {
    "Config": {
        "Env": ["PATH=/usr/bin"],
        "Cmd": ["nginx", "-g", "daemon off;"],
        "Entrypoint": ["/docker-entrypoint.sh"],
        "WorkingDir": "/",
        "Labels": {"maintainer": "NGINX"},
        "ExposedPorts": {"80/tcp": {}},
        "Volumes": {"/cache": {}},
        "StopSignal": "SIGQUIT",
    }
}


def test_the_copy_runs_the_reference_and_leaves_what_the_image_gave_to_the_newest_image():
    config = create_body(inspect(), image=IMAGE).config

    assert config["Image"] == "nginx:1"
    assert config["Env"] == ["A=1"]
    assert config["Labels"] == {"com.docker.compose.project": "shop"}
    for key in ("Cmd", "Entrypoint", "WorkingDir", "Volumes", "StopSignal", "Hostname"):
        assert key not in config, key
    # The published port is exposed, as the CLI does for -p; the image's own is the image's.
    assert config["ExposedPorts"] == {"8080/tcp": {}}


def test_the_owning_teams_label_stays_on_the_copy_even_when_the_image_has_the_same():
    data = inspect()
    data["Config"]["Labels"]["berth.team"] = "shop-team"
    image = {"Config": {**IMAGE["Config"], "Labels": {"berth.team": "shop-team"}}}

    config = create_body(data, image=image).config

    # The newest image of the reference may be labelled for another team: the copy says its own.
    assert config["Labels"]["berth.team"] == "shop-team"


def test_an_owner_label_only_the_new_image_carries_is_blanked_on_the_copy():
    data = inspect()  # of a compose project, owned through it: no berth.team label
    image = {"Config": {**IMAGE["Config"], "Labels": {"berth.team": "another-team"}}}

    config = create_body(data, image=image).config

    # An empty berth.team owns nothing: the copy stays its compose project's team's.
    assert config["Labels"]["berth.team"] == ""
    assert config["Labels"]["com.docker.compose.project"] == "shop"


def test_a_command_given_with_another_entrypoint_is_kept_even_if_it_is_the_images():
    data = inspect()
    data["Config"]["Entrypoint"] = ["/bin/sh", "-c"]

    config = create_body(data, image=IMAGE).config

    assert config["Entrypoint"] == ["/bin/sh", "-c"]
    assert config["Cmd"] == ["nginx", "-g", "daemon off;"]


def test_without_the_old_image_everything_is_copied_but_the_engines_hostname():
    config = create_body(inspect(), image=None).config

    assert config["Env"] == ["PATH=/usr/bin", "A=1"]
    assert config["Cmd"] == ["nginx", "-g", "daemon off;"]
    assert "Hostname" not in config


def test_a_hostname_someone_chose_is_kept():
    data = inspect()
    data["Config"]["Hostname"] = "web-1"

    assert create_body(data, image=IMAGE).config["Hostname"] == "web-1"


def test_the_host_config_is_kept_as_it_is_with_the_anonymous_volumes_mounted_by_name():
    host = create_body(inspect(), image=IMAGE).config["HostConfig"]

    assert host["Dns"] == ["10.0.0.2"] and host["ExtraHosts"] == ["db:10.0.0.3"]
    assert host["Init"] is True and host["RestartPolicy"]["Name"] == "always"
    assert host["PortBindings"] == {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]}
    assert host["Binds"] == ["data:/data", f"{'f' * 64}:/cache"]


def test_an_anonymous_volume_of_a_mount_option_gets_the_volumes_name_in_that_mount():
    data = inspect()
    data["HostConfig"]["Binds"] = None
    data["HostConfig"]["Mounts"] = [{"Type": "volume", "Target": "/cache"}]
    data["Mounts"] = [{"Type": "volume", "Name": "f" * 64, "Destination": "/cache", "RW": False}]

    host = create_body(data, image=IMAGE).config["HostConfig"]

    assert host["Mounts"] == [{"Type": "volume", "Target": "/cache", "Source": "f" * 64}]
    assert host["Binds"] is None


def test_legacy_links_are_given_back_as_create_takes_them():
    data = inspect()
    data["HostConfig"]["Links"] = ["/db:/web/database"]

    assert create_body(data, image=IMAGE).config["HostConfig"]["Links"] == ["db:database"]


def test_the_first_network_is_created_with_the_container_and_the_others_connected_after():
    body = create_body(inspect(), image=IMAGE)

    assert body.config["NetworkingConfig"] == {
        "EndpointsConfig": {
            "front": {"IPAMConfig": {"IPv4Address": "172.30.0.5"}, "Aliases": ["web"]}
        }
    }
    assert [(e.name, e.network_id, e.settings) for e in body.connect] == [("back", "b" * 64, {})]


def test_a_container_on_the_default_bridge_is_created_on_it():
    data = inspect()
    data["HostConfig"]["NetworkMode"] = "default"
    data["NetworkSettings"]["Networks"] = {"bridge": {"NetworkID": "c" * 64, "Aliases": None}}

    body = create_body(data, image=IMAGE)

    assert body.config["NetworkingConfig"] == {"EndpointsConfig": {"bridge": {}}}
    assert body.connect == ()


def test_a_container_in_another_ones_network_stack_gets_no_network_nor_hostname():
    data = inspect()
    data["HostConfig"]["NetworkMode"] = "container:" + "d" * 64
    data["HostConfig"]["PortBindings"] = {}
    data["Config"]["Hostname"] = "d" * 12
    data["Config"]["Domainname"] = "example.com"
    data["NetworkSettings"]["Networks"] = {}

    body = create_body(data, image=IMAGE)

    assert "NetworkingConfig" not in body.config and body.connect == ()
    assert "Hostname" not in body.config and "Domainname" not in body.config
    assert body.config["HostConfig"]["NetworkMode"] == "container:" + "d" * 64


def test_the_settings_beyond_a_spec_that_reach_the_host_are_named():
    data = inspect()
    data["HostConfig"].update(
        VolumesFrom=["other"],
        UTSMode="host",
        DeviceRequests=[{"Count": -1}],
        DeviceCgroupRules=["c 1:3 mr"],
        CgroupParent="/system",
        MaskedPaths=[],
    )

    reasons = " ".join(reaches_the_host(data))

    for flag in (
        "--volumes-from other",
        "--uts host",
        "--gpus",
        "--device-cgroup-rule c 1:3 mr",
        "--cgroup-parent /system",
        "systempaths=unconfined",
    ):
        assert flag in reasons, flag


def test_an_ordinary_container_reaches_nothing_of_the_host():
    data = inspect()
    data["HostConfig"]["MaskedPaths"] = ["/proc/kcore"]

    assert reaches_the_host(data) == ()


def test_a_commit_line_for_the_audit_trail_hides_secret_env_values():
    from containers_app import cli

    line = cli.container_commit(
        "web",
        "app:1",
        changes=["ENV DB_PASSWORD=hunter2 MODE=prod", "ENV API_TOKEN abc", "CMD sh"],
        masked=True,
    )

    assert "hunter2" not in line and "abc" not in line
    assert "MODE=prod" in line and "'CMD sh'" in line
