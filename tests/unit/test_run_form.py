"""The `docker run` form: each field as the CLI's flag reads it, and clear refusals of bad lines."""

import dataclasses

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from containers_app.engine.specs import (
    ContainerSpec,
    DeviceMapping,
    MountSpec,
    PortBinding,
    VolumeBind,
)
from containers_app.forms import (
    ContainerRunForm,
    add_team_field,
    parse_env,
    parse_mounts,
    parse_publish,
    parse_volumes,
)

IMAGE = "berth-test/busybox:latest"


def run_form(files: dict | None = None, **fields) -> ContainerRunForm:
    data = {"image": IMAGE, "restart": "no", "detach": "on", **fields}
    return ContainerRunForm({k: v for k, v in data.items() if v is not None}, files or {})


def spec_of(files: dict | None = None, **fields) -> ContainerSpec:
    form = run_form(files, **fields)
    assert form.is_valid(), form.errors
    return form.spec()


def errors_of(files: dict | None = None, **fields) -> str:
    form = run_form(files, **fields)
    assert not form.is_valid()
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


# --- publish -------------------------------------------------------------------------------


def test_a_published_port_without_an_ip_is_bound_to_loopback_only():
    assert parse_publish("8080:80") == (PortBinding(80, "tcp", "127.0.0.1", 8080),)


def test_a_container_port_alone_is_published_on_loopback_on_a_port_the_engine_picks():
    assert parse_publish("80") == (PortBinding(80, "tcp", "127.0.0.1", None),)
    assert parse_publish("127.0.0.1::80") == (PortBinding(80, "tcp", "127.0.0.1", None),)


def test_an_ip_a_protocol_and_an_ipv6_address_in_brackets_are_read():
    assert parse_publish("0.0.0.0:53:53/udp\n[::1]:8443:443\n\n 1.2.3.4:9:9/sctp ") == (
        PortBinding(53, "udp", "0.0.0.0", 53),
        PortBinding(443, "tcp", "::1", 8443),
        PortBinding(9, "sctp", "1.2.3.4", 9),
    )


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("http", "a port is a number from 1 to 65535"),
        ("8080:80/icmp", "the protocol is tcp, udp or sctp"),
        ("8000-8010:80", "ranges are not taken"),
        ("70000:80", "a port is a number from 1 to 65535"),
        ("8080:0", "a port is a number from 1 to 65535"),
        ("1.2.3:8080:80", "1.2.3 is not an IP address"),
        ("::1:8080:80", "An IPv6 address goes in brackets"),
        ("[::1]8080:80", "write [ip:]host_port:container_port"),
        ("8080:", "a port is a number from 1 to 65535"),
    ],
)
def test_a_bad_publish_line_is_refused_naming_the_line_and_why(line, says):
    with pytest.raises(ValidationError) as refused:
        parse_publish(f"80\n{line}")

    assert f"Line 2 ({line})" in str(refused.value)
    assert says in str(refused.value)


def test_the_publish_help_text_says_a_missing_ip_means_loopback_not_every_interface():
    help_text = ContainerRunForm.base_fields["publish"].help_text

    assert "127.0.0.1" in help_text
    assert "not on every interface" in help_text


# --- env and env_file ----------------------------------------------------------------------


def test_env_lines_keep_the_value_as_written_after_the_first_equals_sign():
    assert parse_env("A=1\nB=x=y z \nEMPTY=") == [("A", "1"), ("B", "x=y z "), ("EMPTY", "")]


def test_env_skips_comments_and_blank_lines_and_the_space_before_a_name_as_docker_does():
    text = "\ufeff# a comment\n\n   \n  A=1\n\t# indented comment\nB=#not a comment\n"

    assert parse_env(text) == [("A", "1"), ("B", "#not a comment")]


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("PATH", "PATH has no value: write PATH=value"),
        ("=value", "a variable's name is neither empty nor holds spaces"),
        ("MY VAR=1", "a variable's name is neither empty nor holds spaces"),
    ],
)
def test_a_bad_env_line_is_refused_naming_the_line(line, says):
    with pytest.raises(ValidationError) as refused:
        parse_env(f"A=1\n{line}")

    assert "Line 2" in str(refused.value)
    assert says in str(refused.value)


def upload(text: bytes) -> dict:
    return {"env_file": SimpleUploadedFile("app.env", text, content_type="text/plain")}


def test_an_env_file_is_read_as_docker_run_env_file_reads_it_and_env_overrides_it():
    env_file = b"# settings\nA=from file\n\nB=from file\r\nC=3\n"

    spec = spec_of(upload(env_file), env="B=typed\nD=4")

    assert spec.env == ("A=from file", "B=typed", "C=3", "D=4")


def test_a_bad_line_of_an_env_file_is_refused_naming_the_file_and_line():
    assert "Env file, line 3: SECRET has no value" in errors_of(upload(b"A=1\n# x\nSECRET\n"))


def test_an_env_file_that_is_not_utf8_text_is_refused():
    assert "The env file is not UTF-8 text." in errors_of(upload(b"A=\xff\xfe\n"))


def test_an_env_file_over_its_size_limit_is_refused():
    assert "at most 256 KiB" in errors_of(upload(b"A=" + b"x" * (256 * 1024)))


# --- volumes and mounts --------------------------------------------------------------------


def test_volume_lines_are_named_volumes_host_paths_or_anonymous_volumes():
    assert parse_volumes("data:/var/lib/data:ro\n/srv/site:/usr/share/html\n/cache") == (
        VolumeBind("data", "/var/lib/data", "ro"),
        VolumeBind("/srv/site", "/usr/share/html"),
        VolumeBind("", "/cache"),
    )


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("./site:/html", "is neither a volume name"),
        ("data:html", "the path in the container is an absolute path"),
        ("data:/d:rx", "the mode is ro or rw"),
        ("data:/d:ro,rw", "the mode is ro or rw"),
        ("a:/b:ro:x", "write volume_name:/path[:ro]"),
        ("relative", "the path in the container is an absolute path"),
    ],
)
def test_a_bad_volume_line_is_refused_naming_the_line(line, says):
    with pytest.raises(ValidationError) as refused:
        parse_volumes(line)

    assert f"Line 1 ({line})" in str(refused.value)
    assert says.lower() in str(refused.value).lower()


def test_mount_lines_of_each_type_are_read():
    text = (
        "type=volume,source=data,target=/data,readonly\n"
        "type=bind,src=/srv,dst=/srv,ro=false\n"
        "type=tmpfs,destination=/scratch,tmpfs-size=64m,tmpfs-mode=1777\n"
        "target=/anonymous"
    )

    assert parse_mounts(text) == (
        MountSpec("volume", "/data", "data", read_only=True),
        MountSpec("bind", "/srv", "/srv", read_only=False),
        MountSpec("tmpfs", "/scratch", tmpfs_size=64 * 1024**2, tmpfs_mode=0o1777),
        MountSpec("volume", "/anonymous"),
    )


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("type=nfs,target=/x", "the type is volume, bind or tmpfs"),
        ("type=bind,target=/x", "the source of a bind is an absolute path"),
        ("type=tmpfs,source=xy,target=/x", "a tmpfs has no source"),
        ("type=volume,source=xy,target=/x,volume-opt=o=bind", "Berth takes the mount options"),
        ("type=volume,source=xy", "the target is an absolute path"),
        ("type=volume,source=xy,target=/x,tmpfs-size=1m", "tmpfs-size and tmpfs-mode are for"),
        ("type=volume,source=x,target=/x", "x is not a volume name (letters, digits"),
        ("type=tmpfs,target=/x,tmpfs-mode=999", "tmpfs-mode is an octal mode"),
        ("type=volume,source=xy,target=/x,readonly=maybe", "readonly is true or false"),
    ],
)
def test_a_bad_mount_line_is_refused_naming_the_line(line, says):
    with pytest.raises(ValidationError) as refused:
        parse_mounts(line)

    assert f"Line 1 ({line})" in str(refused.value)
    assert says.lower() in str(refused.value).lower()


# --- the other fields ----------------------------------------------------------------------


def test_memory_and_cpus_are_read_as_docker_reads_them():
    spec = spec_of(memory="1.5g", cpus="0.25")

    assert (spec.memory, spec.nano_cpus) == (1536 * 1024**2, 250_000_000)
    assert spec_of(memory="512m").memory == 512 * 1024**2


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"memory": "5m"}, "at least 6m"),
        ({"memory": "lots"}, "Write the memory limit as a number"),
        ({"cpus": "0"}, "a number above 0"),
        ({"cpus": "nan"}, "a number above 0"),
        ({"cpus": "two"}, "a number above 0"),
        ({"restart": "always:3"}, "Restart is no, always, unless-stopped or on-failure[:N]"),
        ({"restart": "sometimes"}, "Restart is no, always"),
        ({"rm": "on", "restart": "always"}, "--rm and --restart do not go together"),
        ({"network": "host", "publish": "80"}, "With --network host the container has no ports"),
        ({"image": "Not An Image"}, "is not an image"),
        ({"image": ""}, "This field is required"),
        ({"name": "x"}, "A container name has at least two characters"),
        ({"name": "bad name"}, "A container name has at least two characters"),
        ({"command": "sh -c 'unclosed"}, "The command cannot be split into words"),
        ({"workdir": "tmp"}, "The working directory is an absolute path"),
        ({"user": "root;rm"}, "Write a user as a name or uid"),
        ({"network": "my net"}, "Write a network's name"),
        ({"cap_add": "NET ADMIN"}, "not a capability"),
        ({"device": "fuse"}, "(fuse): the device on the host is an absolute path"),
        ({"pid": "container"}, "--pid is empty, host or container:<name>"),
        ({"ipc": "everything"}, "--ipc is empty, host"),
        ({"security_opt": "seccomp=/etc/profile.json"}, "seccomp takes unconfined"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(fields, says):
    assert says in errors_of(**fields)


def test_restart_on_failure_keeps_its_number_of_retries():
    spec = spec_of(restart="on-failure:3")

    assert (spec.restart, spec.restart_max_retries, spec.restart_flag) == (
        "on-failure",
        3,
        "on-failure:3",
    )


def test_an_empty_entrypoint_keeps_the_images_and_two_quotes_reset_it():
    assert spec_of(entrypoint="").entrypoint is None
    assert spec_of(entrypoint='""').entrypoint == ()
    assert spec_of(entrypoint="sh -c").entrypoint == ("sh", "-c")


def test_the_command_is_split_as_a_shell_would():
    assert spec_of(command="sh -c 'echo \"hi there\"'").command == ("sh", "-c", 'echo "hi there"')


def test_an_image_may_be_a_tag_a_digest_or_an_id():
    digest = "busybox@sha256:" + "a" * 64
    for image in ("busybox", "registry.example.com:5000/team/app:1.2", digest, "0123456789ab"):
        assert spec_of(image=image).image == image


def test_the_form_starts_detached_and_a_posted_form_without_detach_is_attached():
    assert ContainerRunForm().fields["detach"].initial is True
    assert spec_of(detach=None).detach is False
    assert ContainerSpec(image=IMAGE).detach is True


def test_privileged_options_are_read_for_the_server_to_judge():
    spec = spec_of(
        privileged="on",
        cap_add="net_admin\nSYS_TIME",
        cap_drop="MKNOD",
        device="/dev/fuse\n/dev/sda:/dev/xvda:r",
        pid="host",
        ipc="host",
        userns="host",
        security_opt="seccomp=unconfined\nno-new-privileges",
    )

    assert spec.privileged
    assert spec.cap_add == ("NET_ADMIN", "SYS_TIME")
    assert spec.cap_drop == ("MKNOD",)
    assert spec.device == (
        DeviceMapping("/dev/fuse", "/dev/fuse", "rwm"),
        DeviceMapping("/dev/sda", "/dev/xvda", "r"),
    )
    assert (spec.pid, spec.ipc, spec.userns) == ("host", "host", "host")
    assert spec.security_opt == ("seccomp=unconfined", "no-new-privileges")


# --- a spec back into the form (run similar) -----------------------------------------------

RICH = ContainerSpec(
    image=IMAGE,
    name="web-2",
    command=("sh", "-c", "echo 'hi there'; sleep 600"),
    entrypoint=("/bin/env", "--"),
    env=("A=1", 'QUOTE=it\'s "quoted"', "EMPTY="),
    publish=(PortBinding(80, "tcp", "127.0.0.1", 8080), PortBinding(53, "udp", "::1", None)),
    volume=(VolumeBind("data", "/data", "ro"), VolumeBind("", "/cache")),
    mount=(
        MountSpec("tmpfs", "/scratch", tmpfs_size=1024**2, tmpfs_mode=0o1777),
        MountSpec("volume", "/logs", "logs", read_only=True),
    ),
    network="backend",
    restart="on-failure",
    restart_max_retries=2,
    label=(("com.example.role", "web"), ("flag", "")),
    workdir="/srv",
    user="1000:1000",
    hostname="web",
    tty=True,
    interactive=True,
    memory=64 * 1024**2,
    nano_cpus=1_500_000_000,
    detach=False,
    privileged=True,
    cap_add=("NET_ADMIN",),
    cap_drop=("MKNOD",),
    device=(DeviceMapping("/dev/fuse", "/dev/fuse"),),
    pid="host",
    ipc="shareable",
    userns="host",
    security_opt=("no-new-privileges",),
)


def as_posted(initial: dict) -> dict:
    """The initial values as the browser posts them back: a ticked box as "on", an unticked
    one not at all."""
    return {
        key: ("on" if value is True else value)
        for key, value in initial.items()
        if value is not False
    }


def test_a_spec_written_into_the_form_cleans_back_to_the_same_spec():
    form = ContainerRunForm(as_posted(ContainerRunForm.initial_from(RICH)))

    assert form.is_valid(), form.errors
    # With Berth's own label of no team: an image's label may not claim the container.
    assert form.spec() == dataclasses.replace(RICH, label=(("berth.team", ""), *RICH.label))


def test_a_port_published_on_every_interface_is_written_0_0_0_0_in_the_form():
    spec = ContainerSpec(image=IMAGE, publish=(PortBinding(80, "tcp", "", 8080),))

    initial = ContainerRunForm.initial_from(spec)

    assert initial["publish"] == "0.0.0.0:8080:80"


def test_an_entrypoint_reset_is_written_as_two_quotes():
    initial = ContainerRunForm.initial_from(ContainerSpec(image=IMAGE, entrypoint=()))

    assert initial["entrypoint"] == '""'


def test_run_similar_leaves_the_labels_only_berth_sets_out_of_the_form():
    spec = ContainerSpec(image=IMAGE, label=(("berth.team", "shop"), ("tier", "web")))

    initial = ContainerRunForm.initial_from(spec)

    assert initial["label"] == "tier=web"
    assert ContainerRunForm(as_posted(initial)).is_valid()


def test_the_chosen_team_is_the_first_label_of_the_spec():
    form = run_form(label="tier=web", team="shop")
    add_team_field(form, ["shop", "other"])

    assert form.is_valid(), form.errors
    assert form.spec().label == (("berth.team", "shop"), ("tier", "web"))
    assert [field.name for field in form.groups()[0][1]][:2] == ["team", "image"]


def test_a_team_the_user_may_not_run_for_is_refused():
    form = run_form(team="other")
    add_team_field(form, ["shop"])

    assert not form.is_valid()
    assert form.errors["team"] == ["Choose one of your teams."]


def test_a_form_without_a_team_field_runs_for_no_team():
    form = run_form()

    assert form.is_valid(), form.errors
    assert form.spec().label == (("berth.team", ""),)
    assert "team" not in [field.name for _, fields in form.groups() for field in fields]
