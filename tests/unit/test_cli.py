"""The `docker` command lines shown beside each action: exact words, safely quoted."""

import shlex

import pytest

from containers_app import cli
from containers_app.engine.containers import ACTIONS

# Values a person may type that a shell would otherwise split, expand or run.
HOSTILE = [
    "a=b c",
    "x=$(rm -rf /)",
    "it's",
    'say "hi"',
    "`reboot`",
    "a;b&&c|d",
    "$HOME",
    "*",
    "tab\there",
    "line\nbreak",
    "back\\slash",
    "",
]


def words(command: str) -> list[str]:
    """What a POSIX shell would pass to `docker` for this line."""
    return shlex.split(command)


def test_docker_joins_its_words_after_docker():
    assert cli.docker("ps", "-a") == "docker ps -a"


def test_docker_with_no_words_is_just_docker():
    assert cli.docker() == "docker"


@pytest.mark.parametrize("value", HOSTILE)
def test_docker_quotes_every_word_so_the_shell_gets_it_back_unchanged(value):
    assert words(cli.docker("inspect", value)) == ["docker", "inspect", value]


def test_docker_quotes_a_value_with_a_space_in_single_quotes():
    assert cli.docker("rm", "a b") == "docker rm 'a b'"


def test_docker_quotes_a_command_substitution_so_it_is_never_run():
    assert cli.docker("rm", "$(rm -rf /)") == "docker rm '$(rm -rf /)'"


def test_docker_quotes_a_single_quote_by_closing_and_reopening_the_quotes():
    assert cli.docker("rm", "it's") == "docker rm 'it'\"'\"'s'"


def test_docker_quotes_an_empty_word_so_it_is_not_lost():
    assert cli.docker("rm", "") == "docker rm ''"


def test_docker_leaves_plain_words_unquoted():
    assert (
        cli.docker("rm", "web-1_a.b", "sha256:abc", "a/b:c")
        == "docker rm web-1_a.b sha256:abc a/b:c"
    )


def test_options_repeats_the_flag_before_each_value():
    assert cli._options("--label", ["a", "b=c"]) == ["--label", "a", "--label", "b=c"]


def test_options_of_nothing_is_nothing():
    assert cli._options("--label", []) == []


def test_pairs_writes_key_equals_value_and_a_bare_key_for_an_empty_value():
    assert cli._pairs({"a": "1", "flag": "", "b": "x=y"}) == ["a=1", "flag", "b=x=y"]


def test_container_list_is_docker_ps_without_filters():
    assert cli.container_list() == "docker ps"


def test_container_list_with_all_adds_dash_a():
    assert cli.container_list(all=True) == "docker ps -a"


def test_container_list_writes_each_filter_as_the_cli_names_it():
    assert cli.container_list(all=True, name="web", state="exited", label="tier=db") == (
        "docker ps -a --filter name=web --filter status=exited --filter label=tier=db"
    )


def test_container_list_quotes_a_label_filter_with_a_space():
    command = cli.container_list(label="a=b c")
    assert command == "docker ps --filter 'label=a=b c'"
    assert words(command) == ["docker", "ps", "--filter", "label=a=b c"]


def test_container_list_quotes_a_name_filter_holding_shell_syntax():
    command = cli.container_list(name="x=$(rm -rf /)")
    assert command == "docker ps --filter 'name=x=$(rm -rf /)'"


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("start", "docker start web"),
        ("stop", "docker stop web"),
        ("restart", "docker restart web"),
        ("pause", "docker pause web"),
        ("unpause", "docker unpause web"),
        ("kill", "docker kill web"),
        ("remove", "docker rm web"),
        ("force_remove", "docker rm -f web"),
    ],
)
def test_container_action_writes_the_cli_words_of_each_action(action, expected):
    assert cli.container_action(action, ["web"]) == expected


def test_container_action_has_words_for_every_engine_action():
    assert set(cli.CONTAINER_ACTION_WORDS) == set(ACTIONS)


def test_container_action_names_several_containers_in_order():
    assert cli.container_action("stop", ["b", "a", "c"]) == "docker stop b a c"


def test_container_action_rejects_an_unknown_action():
    with pytest.raises(KeyError):
        cli.container_action("explode", ["web"])


@pytest.mark.parametrize("ref", HOSTILE)
def test_container_action_quotes_any_container_reference(ref):
    assert words(cli.container_action("force_remove", [ref])) == ["docker", "rm", "-f", ref]


@pytest.mark.parametrize("kind", ["container", "image", "network", "volume"])
def test_inspect_is_docker_kind_inspect(kind):
    assert cli.inspect(kind, "thing") == f"docker {kind} inspect thing"


def test_inspect_quotes_its_reference():
    assert cli.inspect("volume", "a b") == "docker volume inspect 'a b'"


def test_image_list_is_docker_images():
    assert cli.image_list() == "docker images"


def test_image_list_of_dangling_images_filters_them():
    assert cli.image_list(dangling=True) == "docker images --filter dangling=true"


def test_image_remove_is_docker_rmi():
    assert cli.image_remove(["busybox:latest", "sha256:0123"]) == (
        "docker rmi busybox:latest sha256:0123"
    )


def test_image_remove_with_force_adds_dash_f_before_the_images():
    assert cli.image_remove(["busybox"], force=True) == "docker rmi -f busybox"


def test_image_remove_quotes_a_hostile_reference():
    assert words(cli.image_remove(["x;reboot"])) == ["docker", "rmi", "x;reboot"]


def test_image_history_is_docker_history():
    assert cli.image_history("busybox:latest") == "docker history busybox:latest"


def test_network_create_names_the_driver_and_puts_the_name_last():
    assert cli.network_create(name="back") == "docker network create --driver bridge back"


def test_network_create_writes_every_option():
    command = cli.network_create(
        name="back",
        driver="macvlan",
        subnet="10.1.0.0/24",
        gateway="10.1.0.1",
        internal=True,
        attachable=True,
        labels={"tier": "db", "flag": ""},
    )
    assert command == (
        "docker network create --driver macvlan --subnet 10.1.0.0/24 --gateway 10.1.0.1 "
        "--internal --attachable --label tier=db --label flag back"
    )


def test_network_create_leaves_out_options_that_are_not_set():
    command = cli.network_create(name="n", subnet="", gateway="", labels=None)
    assert "--subnet" not in command
    assert "--gateway" not in command
    assert "--label" not in command


def test_network_create_quotes_labels_with_spaces_and_shell_syntax():
    command = cli.network_create(name="n", labels={"a": "b c", "x": "$(rm -rf /)"})
    assert command == (
        "docker network create --driver bridge --label 'a=b c' --label 'x=$(rm -rf /)' n"
    )
    assert words(command)[-5:] == ["--label", "a=b c", "--label", "x=$(rm -rf /)", "n"]


def test_network_create_quotes_labels_holding_quotes():
    command = cli.network_create(name="n", labels={"q": 'it\'s "quoted"'})
    assert words(command)[-3:] == ["--label", 'q=it\'s "quoted"', "n"]


def test_network_remove_is_docker_network_rm():
    assert cli.network_remove(["a", "b"]) == "docker network rm a b"


def test_volume_create_without_a_name_lets_the_engine_pick_one():
    assert cli.volume_create() == "docker volume create --driver local"


def test_volume_create_writes_labels_then_options_then_the_name():
    command = cli.volume_create(
        name="data", driver="local", labels={"a": "1"}, options={"type": "tmpfs", "o": ""}
    )
    assert command == (
        "docker volume create --driver local --label a=1 --opt type=tmpfs --opt o data"
    )


def test_volume_create_quotes_options_with_spaces_and_shell_syntax():
    command = cli.volume_create(
        name="data", labels={"a": "b c"}, options={"device": "$(rm -rf /)", "o": "size=1m,uid=0"}
    )
    assert words(command) == [
        "docker",
        "volume",
        "create",
        "--driver",
        "local",
        "--label",
        "a=b c",
        "--opt",
        "device=$(rm -rf /)",
        "--opt",
        "o=size=1m,uid=0",
        "data",
    ]


def test_volume_remove_is_docker_volume_rm():
    assert cli.volume_remove(["a", "b"]) == "docker volume rm a b"


def test_volume_remove_with_force_adds_dash_f():
    assert cli.volume_remove(["a"], force=True) == "docker volume rm -f a"


# merged logs: docker compose logs, or one docker logs each

HOSTILE_PROJECT = "my app; rm -rf / 'x' \"y\""


def test_merged_logs_of_a_project_is_docker_compose_logs_of_that_project():
    assert (
        cli.merged_logs(project="shop", containers=["shop-web-1", "shop-db-1"])
        == "docker compose -p shop logs --follow --tail 500"
    )


def test_merged_logs_quotes_a_project_name_holding_spaces_quotes_and_semicolons():
    command = cli.merged_logs(project=HOSTILE_PROJECT)
    assert words(command) == [
        "docker", "compose", "-p", HOSTILE_PROJECT, "logs", "--follow", "--tail", "500",
    ]  # fmt: skip
    assert command == (
        "docker compose -p 'my app; rm -rf / '\"'\"'x'\"'\"' \"y\"' logs --follow --tail 500"
    )


def test_merged_logs_of_one_container_is_docker_logs():
    assert cli.merged_logs(containers=["web"]) == "docker logs --follow --tail 500 web"


def test_merged_logs_of_a_selection_follows_each_container_side_by_side():
    assert cli.merged_logs(containers=["web", "db"], tail=10) == (
        "docker logs --follow --tail 10 web & docker logs --follow --tail 10 db & wait"
    )


def test_merged_logs_quotes_each_container_of_a_selection():
    command = cli.merged_logs(containers=["a;b", "$(reboot)"])
    assert command == (
        "docker logs --follow --tail 500 'a;b' & docker logs --follow --tail 500 '$(reboot)' & wait"
    )


def test_tag_and_prune_read_as_the_cli_writes_them():
    assert cli.image_tag("0123456789ab", "registry:5000/team/web:1.0") == (
        "docker tag 0123456789ab registry:5000/team/web:1.0"
    )
    assert cli.image_prune() == "docker image prune --force"
    assert cli.image_prune(all=True) == "docker image prune --force --all"


def test_save_writes_the_tar_named_after_the_image():
    assert cli.image_save("0123456789ab") == "docker save --output 0123456789ab.tar 0123456789ab"
