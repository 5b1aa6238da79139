"""Forms turn what a person typed into the typed arguments engine functions take."""

import pytest
from django.core.exceptions import ValidationError
from django.http import QueryDict

from containers_app.engine.containers import ACTIONS, STATES
from containers_app.forms import (
    ContainerBulkForm,
    ContainerFilterForm,
    ImagePruneForm,
    ImageRemoveForm,
    ImageTagForm,
    NetworkCreateForm,
    VolumeCreateForm,
    parse_pairs,
)
from containers_app.rules import host_volume_refusals

# --- parse_pairs -------------------------------------------------------------------------


def test_parse_pairs_reads_one_key_value_pair_a_line():
    assert parse_pairs("a=1\nb=two", what="label") == {"a": "1", "b": "two"}


def test_parse_pairs_of_nothing_is_empty():
    assert parse_pairs("", what="label") == {}


def test_parse_pairs_skips_blank_lines_and_trims_spaces_around_key_and_value():
    assert parse_pairs("\n  a = 1  \n\n\tb=2\n", what="label") == {"a": "1", "b": "2"}


def test_parse_pairs_gives_a_bare_key_an_empty_value():
    assert parse_pairs("flag", what="label") == {"flag": ""}


def test_parse_pairs_keeps_everything_after_the_first_equals_sign_in_the_value():
    assert parse_pairs("o=size=1m,uid=0", what="option") == {"o": "size=1m,uid=0"}


def test_parse_pairs_keeps_spaces_quotes_and_shell_syntax_inside_a_value():
    text = 'a=b c\nx=$(rm -rf /)\nq=it\'s "quoted"'
    assert parse_pairs(text, what="label") == {
        "a": "b c",
        "x": "$(rm -rf /)",
        "q": 'it\'s "quoted"',
    }


def test_parse_pairs_reads_windows_line_endings():
    assert parse_pairs("a=1\r\nb=2\r\n", what="label") == {"a": "1", "b": "2"}


def test_parse_pairs_lets_a_later_line_override_an_earlier_one():
    assert parse_pairs("a=1\na=2", what="label") == {"a": "2"}


def test_parse_pairs_rejects_a_key_with_a_space_naming_the_line_and_what():
    with pytest.raises(ValidationError) as raised:
        parse_pairs("a=1\nmy key=2", what="label")
    assert raised.value.messages == ["Line 2: write each label as key=value."]


def test_parse_pairs_rejects_a_line_with_no_key():
    with pytest.raises(ValidationError) as raised:
        parse_pairs("=value", what="option")
    assert raised.value.messages == ["Line 1: write each option as key=value."]


# --- ContainerFilterForm -----------------------------------------------------------------


def test_container_filter_form_with_nothing_filters_nothing():
    form = ContainerFilterForm({})
    assert form.is_valid(), form.errors
    assert form.filters() == {"all": False, "name": "", "state": "", "label": ""}
    assert form.sort_key() is None


def test_container_filter_form_reads_every_filter():
    form = ContainerFilterForm(
        {"all": "on", "name": " web ", "state": "exited", "label": "tier=db", "sort": "name"}
    )
    assert form.is_valid(), form.errors
    assert form.filters() == {"all": True, "name": "web", "state": "exited", "label": "tier=db"}


@pytest.mark.parametrize("state", STATES)
def test_container_filter_form_accepts_every_engine_state(state):
    assert ContainerFilterForm({"state": state}).is_valid()


def test_container_filter_form_rejects_an_unknown_state():
    form = ContainerFilterForm({"state": "sleeping"})
    assert not form.is_valid()
    assert form.errors["state"] == [
        "Select a valid choice. sleeping is not one of the available choices."
    ]


@pytest.mark.parametrize("label", ["tier", "tier=db", "a=b c", "x=$(rm -rf /)", "k="])
def test_container_filter_form_accepts_a_label_as_key_or_key_value(label):
    form = ContainerFilterForm({"label": label})
    assert form.is_valid(), form.errors
    assert form.filters()["label"] == label


@pytest.mark.parametrize("label", ["=db", "my tier=db", "a\tb"])
def test_container_filter_form_rejects_a_label_without_a_plain_key(label):
    form = ContainerFilterForm({"label": label})
    assert not form.is_valid()
    assert form.errors["label"] == ["Write a label as key or key=value."]


def test_container_filter_form_rejects_a_name_longer_than_128_characters():
    form = ContainerFilterForm({"name": "a" * 129})
    assert not form.is_valid()
    assert "name" in form.errors


def test_container_filter_form_rejects_an_unknown_sort():
    form = ContainerFilterForm({"sort": "size"})
    assert not form.is_valid()
    assert "sort" in form.errors


@pytest.mark.parametrize("sort", ["name", "image", "created", "state", "status"])
def test_container_filter_form_gives_a_sort_key_for_each_column(sort):
    form = ContainerFilterForm({"sort": sort})
    assert form.is_valid()
    assert callable(form.sort_key())


def test_container_filter_form_sorts_by_name_with_its_key():
    from types import SimpleNamespace

    form = ContainerFilterForm({"sort": "name"})
    assert form.is_valid()
    rows = [SimpleNamespace(name=n) for n in ("b", "c", "a")]
    assert [r.name for r in sorted(rows, key=form.sort_key())] == ["a", "b", "c"]


def test_container_filter_form_sorts_containers_without_a_creation_time_first():
    from datetime import UTC, datetime
    from types import SimpleNamespace

    form = ContainerFilterForm({"sort": "created"})
    assert form.is_valid()
    old = SimpleNamespace(created=datetime(2020, 1, 1, tzinfo=UTC))
    unknown = SimpleNamespace(created=None)
    assert sorted([old, unknown], key=form.sort_key()) == [unknown, old]


# --- ContainerBulkForm -------------------------------------------------------------------


def bulk(action: str, *ids: str) -> ContainerBulkForm:
    data = QueryDict(mutable=True)
    data["action"] = action
    data.setlist("ids", list(ids))
    return ContainerBulkForm(data)


@pytest.mark.parametrize("action", ACTIONS)
def test_container_bulk_form_accepts_every_container_action(action):
    form = bulk(action, "web")
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {"action": action, "ids": ["web"]}


def test_container_bulk_form_reads_the_ids_of_every_ticked_row_in_order():
    form = bulk("stop", "b" * 64, "web", "a1b2c3d4e5f6")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["ids"] == ["b" * 64, "web", "a1b2c3d4e5f6"]


def test_container_bulk_form_drops_repeated_ids():
    form = bulk("stop", "web", "db", "web")
    assert form.is_valid()
    assert form.cleaned_data["ids"] == ["web", "db"]


def test_container_bulk_form_also_takes_a_plain_dict_of_space_separated_ids():
    form = ContainerBulkForm({"action": "kill", "ids": "web db"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["ids"] == ["web", "db"]


def test_container_bulk_form_rejects_an_unknown_action():
    form = bulk("explode", "web")
    assert not form.is_valid()
    assert form.errors["action"] == [
        "Select a valid choice. explode is not one of the available choices."
    ]


def test_container_bulk_form_needs_at_least_one_container():
    form = bulk("stop")
    assert not form.is_valid()
    assert form.errors["ids"] == ["This field is required."]


def test_container_bulk_form_needs_an_action():
    form = bulk("", "web")
    assert not form.is_valid()
    assert form.errors["action"] == ["This field is required."]


@pytest.mark.parametrize("bad", ["-f", "--all", "$(reboot)", "a;b", "../etc", "_web", "x" * 129])
def test_container_bulk_form_rejects_what_is_not_a_container_id_or_name(bad):
    form = bulk("remove", "web", bad)
    assert not form.is_valid()
    assert form.errors["ids"] == [f"Not a container id or name: {bad[:64]}"]


def test_container_bulk_form_accepts_a_thousand_containers():
    assert bulk("stop", *(f"c{i}" for i in range(1000))).is_valid()


def test_container_bulk_form_rejects_more_than_a_thousand_containers():
    form = bulk("stop", *(f"c{i}" for i in range(1001)))
    assert not form.is_valid()
    assert form.errors["ids"] == ["Select at most 1,000 containers at once."]


# --- NetworkCreateForm -------------------------------------------------------------------


def network(**data) -> NetworkCreateForm:
    return NetworkCreateForm({"name": "back", "driver": "bridge", **data})


def test_network_create_form_needs_only_a_name_and_driver():
    form = network()
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {
        "name": "back",
        "driver": "bridge",
        "subnet": "",
        "gateway": "",
        "internal": False,
        "attachable": False,
        "labels": {},
    }


def test_network_create_form_reads_every_field():
    form = network(
        driver="macvlan",
        subnet="10.30.0.0/24",
        gateway="10.30.0.1",
        internal="on",
        attachable="on",
        labels="tier=db\nnote=a b c",
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {
        "name": "back",
        "driver": "macvlan",
        "subnet": "10.30.0.0/24",
        "gateway": "10.30.0.1",
        "internal": True,
        "attachable": True,
        "labels": {"tier": "db", "note": "a b c"},
    }


def test_network_create_form_writes_an_ipv6_subnet_and_gateway_in_short_form():
    form = network(subnet="fd00:0:0:0::/64", gateway="fd00:0::1")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["subnet"] == "fd00::/64"
    assert form.cleaned_data["gateway"] == "fd00::1"


def test_network_create_form_needs_a_name():
    form = NetworkCreateForm({"driver": "bridge"})
    assert not form.is_valid()
    assert form.errors["name"] == ["This field is required."]


@pytest.mark.parametrize("name", ["-net", "my net", "net/1", "$(x)", "_net"])
def test_network_create_form_rejects_a_name_the_engine_would_refuse(name):
    form = network(name=name)
    assert not form.is_valid()
    assert form.errors["name"] == [
        "A network name starts with a letter or digit and holds only letters, digits, _ . -"
    ]


def test_network_create_form_rejects_an_unknown_driver():
    form = network(driver="host")
    assert not form.is_valid()
    assert "driver" in form.errors


def test_network_create_form_rejects_a_subnet_with_host_bits_set():
    form = network(subnet="10.30.0.1/24")
    assert not form.is_valid()
    assert form.errors["subnet"] == ["Not a subnet in CIDR form: 10.30.0.1/24 has host bits set"]


def test_network_create_form_rejects_a_subnet_that_is_not_an_address():
    form = network(subnet="not-a-subnet")
    assert not form.is_valid()
    assert form.errors["subnet"][0].startswith("Not a subnet in CIDR form: ")


def test_network_create_form_rejects_a_gateway_that_is_not_an_address():
    form = network(subnet="10.30.0.0/24", gateway="10.30.0.300")
    assert not form.is_valid()
    assert form.errors["gateway"][0].startswith("Not an IP address: ")


def test_network_create_form_rejects_a_gateway_without_a_subnet():
    form = network(gateway="10.30.0.1")
    assert not form.is_valid()
    assert form.errors["gateway"] == ["A gateway needs a subnet."]


def test_network_create_form_rejects_a_gateway_outside_its_subnet():
    form = network(subnet="10.30.0.0/24", gateway="10.31.0.1")
    assert not form.is_valid()
    assert form.errors["gateway"] == ["10.31.0.1 is not in 10.30.0.0/24."]


def test_network_create_form_rejects_an_ipv4_gateway_for_an_ipv6_subnet():
    form = network(subnet="fd00::/64", gateway="10.30.0.1")
    assert not form.is_valid()
    assert form.errors["gateway"] == ["10.30.0.1 is not in fd00::/64."]


def test_network_create_form_rejects_labels_that_are_not_key_value_pairs():
    form = network(labels="tier=db\nnot a label")
    assert not form.is_valid()
    assert form.errors["labels"] == ["Line 2: write each label as key=value."]


# --- VolumeCreateForm --------------------------------------------------------------------


def test_volume_create_form_may_leave_the_name_to_the_engine():
    form = VolumeCreateForm({"driver": "local"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {"name": "", "driver": "local", "labels": {}, "options": {}}


def test_volume_create_form_reads_labels_and_driver_options():
    form = VolumeCreateForm(
        {
            "name": "data",
            "driver": "local",
            "labels": "a=b c",
            "options": "type=tmpfs\ndevice=tmpfs\no=size=1m",
        }
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {
        "name": "data",
        "driver": "local",
        "labels": {"a": "b c"},
        "options": {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"},
    }


@pytest.mark.parametrize("driver", ["local", "rexray/ebs:latest", "vieux/sshfs"])
def test_volume_create_form_accepts_plugin_driver_names_from_who_may_create_any_volume(driver):
    assert VolumeCreateForm({"driver": driver}, any_volume=True).is_valid()


@pytest.mark.parametrize("name", ["a", "-data", "my data", "da/ta"])
def test_volume_create_form_rejects_a_name_the_engine_would_refuse(name):
    form = VolumeCreateForm({"name": name, "driver": "local"})
    assert not form.is_valid()
    assert form.errors["name"] == [
        "A volume name has at least two characters, starts with a letter or digit and "
        "holds only letters, digits, _ . -"
    ]


def test_volume_create_form_needs_a_driver():
    form = VolumeCreateForm({"name": "data", "driver": ""})
    assert not form.is_valid()
    assert form.errors["driver"] == ["This field is required."]


@pytest.mark.parametrize("driver", ["-local", "lo cal", "$(x)"])
def test_volume_create_form_rejects_a_driver_that_is_not_a_driver_name(driver):
    form = VolumeCreateForm({"driver": driver})
    assert not form.is_valid()
    assert form.errors["driver"] == ["Not a volume driver name."]


def test_volume_create_form_rejects_options_that_are_not_key_value_pairs():
    form = VolumeCreateForm({"driver": "local", "options": "type=tmpfs\n=x"})
    assert not form.is_valid()
    assert form.errors["options"] == ["Line 2: write each option as key=value."]


# --- who may mount the host: host_volume_refusals ----------------------------------------

BIND_HOST_ROOT = {"type": "none", "o": "bind", "device": "/"}


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"type": "tmpfs", "device": "tmpfs"},
        {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"},
        {"type": "tmpfs", "device": "tmpfs", "o": "size=64M,mode=1777,uid=1000,gid=1000"},
        {"type": "tmpfs", "device": "tmpfs", "o": "size=10%,nr_inodes=1k,noexec,nosuid,nodev"},
    ],
)
def test_host_volume_refusals_allow_a_plain_local_volume_or_a_tmpfs(options):
    assert host_volume_refusals("local", options) == {}


def test_host_volume_refusals_refuse_every_driver_but_local_naming_it():
    assert host_volume_refusals("vieux/sshfs", {}) == {
        "driver": [
            "Driver vieux/sshfs: only a superuser may use a driver other than local, as a "
            "volume plugin can mount whatever the host can reach."
        ]
    }


def test_host_volume_refusals_name_each_option_of_a_bind_mount_of_the_host():
    assert host_volume_refusals("local", BIND_HOST_ROOT) == {
        "options": [
            "Option type=none: only a superuser may mount a type other than tmpfs, which mounts "
            "a host path or device (type=none with o=bind: any host folder).",
            "Option o=bind: bind mounts a folder of the host into the volume; only a superuser "
            "may use it.",
            "Option device=/: only a superuser may set a device, which mounts that host path or "
            "device into the volume.",
        ]
    }


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"type": "tmpfs", "device": "/etc"}, "Option device=/etc: "),
        ({"type": "tmpfs", "device": "tmpfs", "o": "size=1m,rbind"}, "Option o=size=1m,rbind: "),
        ({"type": "tmpfs", "device": "tmpfs", "o": "size=1m, bind"}, "bind mounts a folder"),
        ({"type": "tmpfs", "device": "tmpfs", "o": "remount"}, "mount option 'remount'"),
        ({"type": "tmpfs", "device": "tmpfs", "o": "size=1m,"}, "mount option ''"),
        ({"type": "ext4", "device": "tmpfs"}, "Option type=ext4: "),
        ({"type": "nfs", "o": "addr=10.0.0.1", "device": ":/export"}, "Option type=nfs: "),
        ({"type": "TMPFS", "device": "tmpfs"}, "Option type=TMPFS: "),
        ({"o": "bind", "device": "/"}, "Option o=bind: "),
        ({"device": "tmpfs"}, "Options need type=tmpfs"),
        ({"o": "size=1m"}, "Options need type=tmpfs"),
        ({"type": "tmpfs", "device": "tmpfs", "size": "1G"}, "Option size: "),
    ],
)
def test_host_volume_refusals_refuse_whatever_could_mount_a_host_path(options, named):
    refusals = host_volume_refusals("local", options)
    assert list(refusals) == ["options"]
    assert any(named in problem for problem in refusals["options"]), refusals


def test_volume_create_form_refuses_a_bind_mount_of_the_host_by_default():
    form = VolumeCreateForm({"driver": "local", "options": "type=none\no=bind\ndevice=/"})
    assert not form.is_valid()
    assert form.errors["options"] == host_volume_refusals("local", BIND_HOST_ROOT)["options"]


def test_volume_create_form_refuses_a_plugin_driver_by_default():
    form = VolumeCreateForm({"driver": "vieux/sshfs", "options": "sshcmd=me@host:/"})
    assert not form.is_valid()
    assert form.errors["driver"] == host_volume_refusals("vieux/sshfs", {})["driver"]


def test_volume_create_form_lets_who_may_create_any_volume_bind_the_host():
    form = VolumeCreateForm(
        {"driver": "local", "options": "type=none\no=bind\ndevice=/"}, any_volume=True
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["options"] == BIND_HOST_ROOT


# --- ImageRemoveForm ---------------------------------------------------------------------


def test_image_remove_form_without_anything_removes_the_whole_image_without_force():
    form = ImageRemoveForm({})
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {"force": False, "tag": ""}


@pytest.mark.parametrize(
    "tag",
    [
        "busybox:latest",
        "berth-test/busybox:latest",
        "registry.example.com:5000/team/app:1.2.3",
        "app@sha256:" + "a" * 64,
    ],
)
def test_image_remove_form_accepts_a_tag(tag):
    form = ImageRemoveForm({"tag": tag, "force": "on"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {"force": True, "tag": tag}


@pytest.mark.parametrize("tag", ["-f", "busy box", "$(reboot)", ":latest"])
def test_image_remove_form_rejects_what_is_not_a_tag(tag):
    form = ImageRemoveForm({"tag": tag})
    assert not form.is_valid()
    assert form.errors["tag"] == ["Not an image tag."]


@pytest.mark.parametrize(
    ("given", "cleaned"),
    [
        ("web", "web:latest"),
        ("web:1.0", "web:1.0"),
        ("team/web", "team/web:latest"),
        ("localhost:5000/team/web", "localhost:5000/team/web:latest"),
        ("registry.example.org:5000/web:v2_rc-1", "registry.example.org:5000/web:v2_rc-1"),
    ],
)
def test_a_tag_target_without_a_tag_means_latest(given, cleaned):
    form = ImageTagForm({"target": given})

    assert form.is_valid(), form.errors
    assert form.cleaned_data["target"] == cleaned


@pytest.mark.parametrize("given", ["Web", "web:", "web@sha256:00", "-web", "web:-1", "a b", ""])
def test_a_tag_target_that_is_not_a_reference_is_refused(given):
    assert not ImageTagForm({"target": given}).is_valid()


def test_prune_takes_all_as_1_or_nothing():
    assert ImagePruneForm({}).is_valid()
    assert ImagePruneForm({"all": "1"}).is_valid()
    assert not ImagePruneForm({"all": "?"}).is_valid()


@pytest.mark.parametrize("key", ["com.docker.compose.project", "Com.Docker.Compose.Service"])
def test_no_form_sets_a_compose_label_which_would_claim_a_project_s_team(key):
    from containers_app.forms import parse_labels

    with pytest.raises(ValidationError, match="set by Berth and Docker Compose only"):
        parse_labels(f"{key}=shop")
