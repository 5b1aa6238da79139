"""A team's policy: each rule, what it refuses and says, and the form a team admin sets it with."""

from types import SimpleNamespace

import pytest

from containers_app import policy
from containers_app.engine.specs import ContainerSpec, PortBinding
from containers_app.forms import TeamPolicyForm
from containers_app.policy import Policy

GIB = 1024**3
MIB = 1024**2


def spec(image: str = "nginx:1.27", **fields) -> ContainerSpec:
    return ContainerSpec(image=image, **fields)


def refused(rules: Policy | None, container: ContainerSpec, **kwargs) -> list[str]:
    counts = {"team_containers": 0, "creating": True} | kwargs
    return policy.refusals(rules, container, **counts)


def port(host_port: int | None, container_port: int = 80) -> PortBinding:
    return PortBinding(container_port=container_port, host_port=host_port)


# --- no policy ------------------------------------------------------------------------------


def test_no_team_has_no_policy():
    assert refused(None, spec(publish=(port(None),))) == []


def test_a_team_without_rules_refuses_nothing():
    anything = spec("whatever/else", publish=(port(None), port(1)))

    assert refused(Policy("shop"), anything, team_containers=10_000) == []


# --- images ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "patterns"),
    [
        ("nginx:1.27", ["nginx:*"]),
        ("nginx", ["nginx"]),
        ("nginx", ["nginx:latest"]),
        ("nginx", ["nginx:*"]),
        ("registry.example.com:5000/shop/api", ["registry.example.com:5000/shop/*:latest"]),
        ("redis:7", ["nginx:*", "redis:?"]),
        ("nginx@sha256:" + "a" * 64, ["nginx@sha256:*"]),
        ("shop/api:v2", ["shop/*"]),
    ],
)
def test_an_image_matching_a_pattern_as_written_or_with_its_implicit_latest_tag_runs(
    reference, patterns
):
    assert refused(Policy("shop", image_patterns=tuple(patterns)), spec(reference)) == []


@pytest.mark.parametrize(
    ("reference", "patterns"),
    [
        ("redis:7", ["nginx:*"]),
        ("nginx:1.27", ["nginx:latest"]),
        ("evil/nginx:1", ["nginx:*"]),
        ("docker.io/library/nginx:1", ["nginx:*"]),
        ("nginx@sha256:" + "a" * 64, ["nginx:latest"]),
        # An image id takes no tag: a pattern of tags does not let any id through.
        ("0123456789ab", ["*:latest"]),
        ("Nginx:1", ["nginx:*"]),
    ],
)
def test_an_image_matching_no_pattern_is_refused_naming_the_patterns(reference, patterns):
    rules = Policy("shop", image_patterns=tuple(patterns))

    assert refused(rules, spec(reference)) == [
        f"The image {reference} is not one team shop may run: its images match "
        + ", ".join(patterns)
        + "."
    ]


def test_the_image_patterns_of_a_teams_text_are_its_lines_without_blanks():
    assert policy.patterns(" nginx:*\n\n  redis:7 \n") == ("nginx:*", "redis:7")
    assert policy.patterns("") == ()


# --- published ports -------------------------------------------------------------------------

PORTS = Policy("shop", port_min=8000, port_max=8099)


def test_host_ports_within_the_range_are_published_its_ends_included():
    assert refused(PORTS, spec(publish=(port(8000), port(8099, 443)))) == []


@pytest.mark.parametrize("host_port", [7999, 8100, 80])
def test_a_host_port_outside_the_range_is_refused_naming_the_binding(host_port):
    assert refused(PORTS, spec(publish=(port(host_port),))) == [
        f"-p 127.0.0.1:{host_port}:80 binds host port {host_port}, outside team shop's host "
        "ports (8000 to 8099)."
    ]


def test_a_port_the_engine_would_choose_is_refused_when_there_is_a_range():
    assert refused(PORTS, spec(publish=(port(None),))) == [
        "-p 127.0.0.1::80 lets the engine choose the host port, which could be any: team shop "
        "publishes on host ports 8000 to 8099; write one of them."
    ]


def test_publish_all_is_refused_when_there_is_a_range():
    (message,) = refused(PORTS, spec(), publish_all=True)

    assert message.startswith("--publish-all lets the engine choose the host ports")
    assert refused(Policy("shop"), spec(), publish_all=True) == []


def test_a_range_may_have_one_end_only():
    low, high = Policy("shop", port_min=8000), Policy("shop", port_max=9000)

    assert refused(low, spec(publish=(port(60000),))) == []
    assert "(8000 and above)" in refused(low, spec(publish=(port(7000),)))[0]
    assert refused(high, spec(publish=(port(1024),))) == []
    assert "(up to 9000)" in refused(high, spec(publish=(port(9001),)))[0]


def test_each_binding_that_breaks_the_range_has_its_own_sentence():
    bindings = (port(8000), port(9000), port(None, 443))

    assert len(refused(PORTS, spec(publish=bindings))) == 2


# --- memory and CPUs --------------------------------------------------------------------------

CAPS = Policy("shop", memory_max=512 * MIB, cpus_max=1.5)


def test_limits_within_the_caps_run_the_caps_themselves_included():
    assert refused(CAPS, spec(memory=512 * MIB, nano_cpus=1_500_000_000)) == []
    assert refused(CAPS, spec(memory=64 * MIB, nano_cpus=500_000_000)) == []


def test_a_container_without_a_limit_is_refused_when_there_is_a_cap():
    assert refused(CAPS, spec()) == [
        "Team shop's containers have a memory limit: set -m to 512m or less.",
        "Team shop's containers have a CPU limit: set --cpus to 1.5 or less.",
    ]


def test_a_limit_above_the_cap_is_refused_saying_both():
    assert refused(CAPS, spec(memory=GIB, nano_cpus=2_000_000_000)) == [
        "-m 1g is above team shop's cap of 512m per container.",
        "--cpus 2 is above team shop's cap of 1.5 per container.",
    ]


def test_a_cpu_cap_that_is_no_exact_binary_fraction_still_lets_itself_through():
    assert refused(Policy("shop", cpus_max=1.1), spec(nano_cpus=1_100_000_000)) == []
    assert refused(Policy("shop", cpus_max=1.1), spec(nano_cpus=1_100_000_001)) != []


# --- how many containers ----------------------------------------------------------------------

COUNT = Policy("shop", containers_max=3)


def test_a_new_container_is_refused_once_the_team_has_its_maximum():
    assert refused(COUNT, spec(), team_containers=2) == []
    assert refused(COUNT, spec(), team_containers=3) == [
        "Team shop has 3 containers, its maximum is 3: remove one before running another."
    ]


def test_the_count_does_not_hold_back_a_container_made_again():
    assert refused(COUNT, spec(), team_containers=3, creating=False) == []


def test_a_maximum_of_none_refuses_every_new_container():
    assert refused(Policy("shop", containers_max=0), spec(), team_containers=0) == [
        "Team shop has 0 containers, its maximum is 0: remove one before running another."
    ]


# --- all at once ------------------------------------------------------------------------------


def test_each_broken_rule_is_one_sentence_on_the_run_forms_field():
    rules = Policy(
        "shop",
        image_patterns=("nginx:*",),
        port_min=8000,
        port_max=8099,
        memory_max=512 * MIB,
        cpus_max=1.0,
        containers_max=1,
    )
    container = spec("redis:7", publish=(port(80),))

    found = policy.refusals_by_field(rules, container, team_containers=1, creating=True)

    assert [field for field, _ in found] == ["image", "publish", "memory", "cpus", None]


def test_a_policy_is_read_from_a_teams_fields():
    team = SimpleNamespace(
        slug="shop",
        image_patterns="nginx:*\nredis:*\n",
        port_min=8000,
        port_max=None,
        memory_max=GIB,
        cpus_max=2.0,
        containers_max=None,
        registries="",
        repositories="",
    )

    assert Policy.of(team) == Policy(
        "shop", image_patterns=("nginx:*", "redis:*"), port_min=8000, memory_max=GIB, cpus_max=2.0
    )


# --- what the run form and the team's page show -------------------------------------------------


def test_a_policy_is_described_a_rule_a_line():
    rules = Policy(
        "shop",
        image_patterns=("nginx:*", "redis:*"),
        port_min=8000,
        port_max=8099,
        memory_max=512 * MIB,
        cpus_max=1.5,
        containers_max=10,
    )

    assert policy.describe(rules) == [
        "Images matching nginx:*, redis:*",
        "Published on host ports 8000 to 8099, each port given (-p)",
        "A memory limit (-m) of at most 512m",
        "A CPU limit (--cpus) of at most 1.5",
        "At most 10 containers, in any state",
    ]


def test_a_policy_without_rules_is_described_as_no_limits():
    assert policy.describe(Policy("shop")) == [policy.NO_LIMITS]


def test_a_change_is_written_as_each_setting_changed_with_what_it_was():
    before = Policy("shop", memory_max=GIB, containers_max=5)
    after = Policy("shop", image_patterns=("nginx:*",), port_min=8000, port_max=8099)

    assert policy.change_line(before, after) == (
        "team policy shop: images nginx:* (was any); host ports 8000-8099 (was any); "
        "memory max none (was 1g); containers max none (was 5)"
    )
    assert policy.change_line(after, after) == "team policy shop: no change"


# --- the team's policy form -----------------------------------------------------------------


def policy_form(**fields) -> TeamPolicyForm:
    return TeamPolicyForm({key: value for key, value in fields.items() if value is not None})


def test_an_empty_policy_form_sets_no_rule():
    form = policy_form()

    assert form.is_valid(), form.errors
    assert form.settings() == {
        "image_patterns": "",
        "port_min": None,
        "port_max": None,
        "memory_max": None,
        "cpus_max": None,
        "containers_max": None,
        "registries": "",
        "repositories": "",
    }


def test_the_policy_form_reads_each_rule():
    form = policy_form(
        image_patterns="  nginx:*\n\nredis:7\nnginx:*\n",
        port_min="8000",
        port_max="8099",
        memory_max="512m",
        cpus_max="1.5",
        containers_max="10",
    )

    assert form.is_valid(), form.errors
    assert form.settings() == {
        "image_patterns": "nginx:*\nredis:7",
        "port_min": 8000,
        "port_max": 8099,
        "memory_max": 512 * MIB,
        "cpus_max": 1.5,
        "registries": "",
        "repositories": "",
        "containers_max": 10,
    }


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"image_patterns": "nginx latest"}, "image_patterns", "is not an image pattern"),
        ({"image_patterns": "nginx;rm"}, "image_patterns", "is not an image pattern"),
        ({"port_min": "0"}, "port_min", "greater than or equal to 1"),
        ({"port_max": "70000"}, "port_max", "less than or equal to 65535"),
        ({"port_min": "9000", "port_max": "8000"}, "port_max", "at least the lowest (9000)"),
        ({"memory_max": "lots"}, "memory_max", "e.g. 512m"),
        ({"memory_max": "1m"}, "memory_max", "at least 6m"),
        ({"cpus_max": "0"}, "cpus_max", "above 0"),
        ({"cpus_max": "nan"}, "cpus_max", "above 0"),
        ({"cpus_max": "1.0001"}, "cpus_max", "three decimals"),
        ({"containers_max": "-1"}, "containers_max", "greater than or equal to 0"),
    ],
)
def test_a_bad_policy_is_refused_on_its_field(fields, field, says):
    form = policy_form(**fields)

    assert not form.is_valid()
    assert says in " ".join(form.errors[field])


def test_the_policy_form_starts_from_the_teams_policy_and_cleans_back_to_it():
    team = SimpleNamespace(
        image_patterns="nginx:*",
        port_min=8000,
        port_max=8099,
        memory_max=512 * MIB,
        cpus_max=1.1,
        containers_max=None,
        registries="registry.example.com:5000",
        repositories="registry.example.com:5000/shop/*",
    )

    initial = TeamPolicyForm.initial_of(team)
    form = policy_form(**initial)

    assert initial["memory_max"] == "512m" and initial["cpus_max"] == "1.1"
    assert form.is_valid(), form.errors
    assert form.settings() == vars(team)


# --- what proves an image's name --------------------------------------------------------------


def test_a_name_typed_by_the_team_proves_nothing_a_digest_or_the_team_s_own_image_does():
    patterns = ("nginx:*", "registry.example:5000/web/*")
    tagged = policy.ImageFacts(digests=("busybox@sha256:1",))
    pulled = policy.ImageFacts(digests=("nginx@sha256:2",))
    own = policy.ImageFacts(made_by_team=True)

    assert not policy.image_allowed("nginx:x", patterns, tagged)
    assert policy.image_allowed("nginx:x", patterns, pulled)
    assert policy.image_allowed("nginx:x", patterns, own)
    assert policy.image_allowed("nginx:1", patterns, None)  # pulled by that name first
    assert not policy.image_allowed("redis:1", patterns, own)  # the name must match too
    from_registry = policy.ImageFacts(digests=("registry.example:5000/web/app@sha256:3",))
    assert policy.image_allowed("registry.example:5000/web/app:2", patterns, from_registry)
    hub = policy.ImageFacts(digests=("docker.io/library/nginx@sha256:4",))
    assert policy.image_allowed("nginx:1", patterns, hub)


# --- registries and repositories -------------------------------------------------------------


@pytest.mark.parametrize(
    "server",
    ["127.0.0.1:5000", "localhost", "169.254.169.254", "10.1.2.3:443", "[::1]:5000", "0.0.0.0"],
)
def test_an_internal_registry_must_be_listed_by_name(server):
    assert "must list by name" in policy.registry_refusal([Policy(team="t")], server)
    listed = Policy(team="t", registries=(server.lower(),))
    assert policy.registry_refusal([listed], server) == ""


def test_a_public_registry_is_any_team_s_unless_its_policy_lists_others():
    assert policy.registry_refusal([Policy(team="t")], "registry.example.com") == ""
    own = Policy(team="t", registries=("registry.example.com:*",))
    assert policy.registry_refusal([own], "registry.example.com:5000") == ""
    assert policy.registry_refusal([own], "https://index.docker.io/v1/") != ""
    hub = Policy(team="t", registries=("docker.io",))
    assert policy.registry_refusal([hub], "https://index.docker.io/v1/") == ""
    assert policy.registry_refusal([], "docker.io") != ""  # no team at all


def test_a_team_writes_only_the_repositories_its_policy_lists():
    own = Policy(team="t", repositories=("registry.example.com/t/*",))
    assert policy.repository_refusal([own], ["registry.example.com/t/app:1"]) == ""
    assert "its policy's repositories" in policy.repository_refusal([own], ["app:1"])
    assert policy.repository_refusal([Policy(team="t")], ["anything:1"]) == ""
