"""Compose files as Berth reads them before compose does, and the rules that judge them."""

import json

import pytest

from containers_app import compose_files, rules


def test_a_key_given_twice_is_refused_as_compose_refuses_it():
    with pytest.raises(compose_files.Unreadable, match="line 4: the key 'privileged' is given"):
        compose_files.parse("services:\n  web:\n    privileged: false\n    privileged: true\n")


def test_a_merge_that_repeats_a_key_is_taken_as_yaml_takes_it():
    text = "x-base: &base\n  image: a\nservices:\n  web:\n    <<: *base\n    image: b\n"
    assert compose_files.parse(text)["services"]["web"]["image"] == "b"


def test_composes_own_tags_are_read_and_others_refused():
    read = compose_files.parse(
        "services:\n  web:\n    ports: !reset []\n    labels: !override {}\n"
    )
    assert read["services"]["web"] == {"ports": [], "labels": {}}
    with pytest.raises(compose_files.Unreadable):
        compose_files.parse("services: !!python/object:os.system {}\n")


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "a: 1\n---\nb: 2\n", "x" * 300_000])
def test_anything_but_one_mapping_of_a_sane_size_is_refused(text):
    with pytest.raises(compose_files.Unreadable):
        compose_files.parse(text)


@pytest.mark.parametrize(
    ("document", "said"),
    [
        ({"include": ["a.yaml"]}, "include:"),
        ({"services": {"w": {"extends": {"file": "/x", "service": "a"}}}}, "extends with a file"),
        ({"services": {"w": {"env_file": "/proc/self/environ"}}}, "env_file may only be"),
        ({"services": {"w": {"env_file": [{"path": "../.env"}]}}}, "env_file may only be"),
        ({"services": {"w": {"label_file": "./l"}}}, "label_file reads a file"),
        ({"services": {"w": {"build": "."}}}, "build form"),
        ({"configs": {"c": {"file": "/etc/passwd"}}}, "Config c: file:"),
    ],
)
def test_what_would_make_compose_read_berths_host_is_refused(document, said):
    reasons = rules.compose_host_reads(document)
    assert any(said in reason for reason in reasons), reasons


def test_the_applications_own_env_file_and_extends_within_the_file_are_allowed():
    document = {
        "services": {
            "a": {"image": "x", "env_file": [".env", {"path": "./.env", "required": False}]},
            "b": {"extends": "a"},
            "c": {"extends": {"service": "a"}},
        },
        "configs": {"c": {"content": "hello"}},
    }
    assert rules.compose_host_reads(document) == []


def test_keys_beyond_a_runs_are_a_superusers():
    service = {"image": "x", "runtime": "runc", "logging": {"driver": "syslog"}, "x-mine": 1}
    assert rules.compose_service_refusals("web", service) == [
        "Service web: only a superuser may set runtime.",
        "Service web: only a superuser may set logging.",
    ]


def test_a_normalized_service_is_judged_as_the_run_it_makes():
    service = {
        "image": "shop/web:1",
        "privileged": True,
        "cap_add": ["NET_ADMIN"],
        "network_mode": "host",
        "pid": "service:db",
        "volumes": [
            {"type": "bind", "source": "/etc", "target": "/h"},
            {"type": "volume", "source": "data", "target": "/d"},
            {"type": "tmpfs", "target": "/t"},
        ],
        "ports": [{"target": 80, "published": "8080", "host_ip": "127.0.0.1", "protocol": "tcp"}],
        "deploy": {"resources": {"limits": {"memory": "268435456", "cpus": "0.5"}}},
    }
    spec = compose_files.service_spec(service, {"data": "app_data"})
    assert spec.privileged and spec.cap_add == ("NET_ADMIN",) and spec.network == "host"
    assert spec.pid == ""  # another service of the application: its own processes
    assert [(v.source, v.host_path) for v in spec.volume] == [("/etc", True), ("app_data", False)]
    assert spec.publish[0].host_port == 8080 and spec.publish[0].host_ip == "127.0.0.1"
    assert spec.memory == 268435456 and spec.nano_cpus == 500_000_000


def test_replicas_count_as_compose_makes_them():
    assert compose_files.replicas({"image": "x"}) == 1
    assert compose_files.replicas({"deploy": {"replicas": 3}}) == 3
    assert compose_files.replicas({"scale": 2}) == 2
    assert compose_files.replicas({"deploy": {"replicas": 0}}) == 0


def test_the_override_labels_what_the_application_makes_and_pins_a_rollbacks_images():
    config = {
        "services": {"web": {}, "db": {}},
        "networks": {"default": {}, "shared": {"external": True}},
        "volumes": {"data": {}},
    }
    override = json.loads(compose_files.override(config, "shop", pinned={"db": "sha256:ab"}))
    assert override["services"] == {
        "web": {"labels": {"berth.team": "shop"}},
        "db": {"labels": {"berth.team": "shop"}, "image": "sha256:ab"},
    }
    assert override["networks"] == {"default": {"labels": {"berth.team": "shop"}}}
    assert override["volumes"] == {"data": {"labels": {"berth.team": "shop"}}}
    assert compose_files.override(config, "") == ""


def test_reserved_labels_are_refused_wherever_they_are_set():
    service = {"image": "x", "deploy": {"labels": {"berth.team": "other"}}}
    assert "the label berth.team" in rules.compose_service_refusals("web", service)[0]
    volume = {"labels": {"com.docker.compose.project": "theirs"}}
    assert (
        "Volume data: the label com.docker.compose.project"
        in (rules.compose_object_refusals("volumes", "data", volume)[0])
    )
    assert rules.compose_network_refusals(["front", "host"]) == [
        "An external network named host puts the containers in the host's own network stack "
        "(as --network host): only a superuser may use it."
    ]


def test_a_file_that_anchors_blow_up_or_that_nests_too_deep_is_refused_at_once():
    laughs = ["x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in "bcdefgh":
        previous = chr(ord(level) - 1)
        laughs.append(f"x-{level}: &{level} [{', '.join([f'*{previous}'] * 9)}]")
    laughs.append("services:\n  web:\n    image: x\n    command: *h")
    with pytest.raises(compose_files.Unreadable, match="expand it to more than 200,000"):
        compose_files.parse("\n".join(laughs))
    deep = "services:\n  a:\n    command: " + "[" * 5000 + "]" * 5000 + "\n"
    with pytest.raises(compose_files.Unreadable, match="nested too deeply"):
        compose_files.parse(deep)
