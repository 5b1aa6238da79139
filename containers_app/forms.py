"""Validated user input, turned into the typed arguments engine functions take."""

import dataclasses
import ipaddress
import re
import shlex
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone

from containers_app import access, audit, cli, rules, uploads
from containers_app.engine.containers import ACTIONS, STATES
from containers_app.engine.registries import InvalidServer, normalise_server
from containers_app.engine.specs import (
    ContainerSpec,
    DeviceMapping,
    MountSpec,
    PortBinding,
    VolumeBind,
    format_cpus,
    format_size,
)
from containers_app.models import Membership

# A full or short container id, or a name as the engine allows it.
CONTAINER_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
LABEL_FILTER = re.compile(r"^[^=\s]+(=.*)?$")

CONTAINER_SORTS = {
    "name": lambda c: c.name,
    "image": lambda c: c.image,
    "created": lambda c: c.created.timestamp() if c.created else 0,
    "state": lambda c: c.state,
    "status": lambda c: c.status,
}


class ContainerFilterForm(forms.Form):
    """The filters and sort of `docker ps`."""

    all = forms.BooleanField(required=False)
    name = forms.CharField(required=False, max_length=128, strip=True)
    state = forms.ChoiceField(
        required=False, choices=[("", "any state")] + [(s, s) for s in STATES]
    )
    label = forms.CharField(required=False, max_length=256, strip=True)
    sort = forms.ChoiceField(required=False, choices=[(s, s) for s in CONTAINER_SORTS])
    desc = forms.BooleanField(required=False)

    def clean_label(self) -> str:
        label = self.cleaned_data["label"]
        if label and not LABEL_FILTER.match(label):
            raise ValidationError("Write a label as key or key=value.")
        return label

    def filters(self) -> dict:
        """Keyword arguments for engine.containers.container_list and cli.container_list."""
        data = self.cleaned_data
        return {
            "all": data["all"],
            "name": data["name"],
            "state": data["state"],
            "label": data["label"],
        }

    def sort_key(self):
        return CONTAINER_SORTS.get(self.cleaned_data.get("sort") or "")


class ContainerBulkForm(forms.Form):
    """One action on the selected rows of the containers list."""

    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])
    ids = forms.CharField()

    def __init__(self, data=None, **kwargs) -> None:
        if data is not None and hasattr(data, "getlist"):
            data = {"action": data.get("action", ""), "ids": " ".join(data.getlist("ids"))}
        super().__init__(data, **kwargs)

    def clean_ids(self) -> list[str]:
        ids = list(dict.fromkeys(self.cleaned_data["ids"].split()))
        bad = [i for i in ids if not CONTAINER_REF.match(i)]
        if bad:
            raise ValidationError(f"Not a container id or name: {bad[0][:64]}")
        if len(ids) > 1000:
            raise ValidationError("Select at most 1,000 containers at once.")
        return ids


# A full object id: 64 hex digits.
FULL_ID = re.compile(r"^[0-9a-f]{64}$")
# Network and volume names as the engine accepts them.
OBJECT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
NETWORK_DRIVERS = ("bridge", "ipvlan", "macvlan", "overlay")


def parse_pairs(text: str, *, what: str) -> dict[str, str]:
    """`key=value` pairs, one a line, as --label and --opt take them; a bare key has ""."""
    pairs: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        key, _, value = line.partition("=")
        key = key.strip()
        if not key or any(c.isspace() for c in key):
            raise ValidationError(f"Line {number}: write each {what} as key=value.")
        pairs[key] = value.strip()
    return pairs


def parse_labels(text: str) -> dict[str, str]:
    """--label pairs, without the labels only Berth and Docker Compose set (berth.*,
    com.docker.compose.*: who owns the object)."""
    labels = parse_pairs(text, what="label")
    if reserved := access.reserved_labels(labels):
        raise ValidationError(
            f"Labels {access.RESERVED_LABELS_SAID} are set by Berth and Docker Compose only: "
            + ", ".join(reserved)
            + "."
        )
    return labels


# The team choice of a superuser who creates an object for no team (seen by superusers only).
NO_TEAM = ""


class TeamField(forms.ChoiceField):
    """A choice of team that, when only one is offered, takes it if none is sent."""

    def __init__(self, *args, default: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.default = default

    def clean(self, value):
        if value in self.empty_values and self.default is not None:
            value = self.default
        return super().clean(value)


def add_team_field(
    form: forms.Form,
    teams: list[str],
    *,
    no_team: bool = False,
    no_team_label: str = "no team (superusers only)",
    help_text: str = f"It gets the label {access.TEAM_LABEL}=<team>",
    required: str = "Choose the team it is for.",
    none_offered: str = "You are not an admin of any team, so you may not create this.",
) -> None:
    """Adds the choice of the team a new object is made for (it gets the label
    berth.team=<slug>): `teams`, those the user may create for; `no_team`, whether they may
    make it for no team (superusers). With one choice it is chosen already."""
    choices = [(slug, slug) for slug in teams]
    if no_team:
        choices.append((NO_TEAM, no_team_label))
    only = choices[0][0] if len(choices) == 1 else None
    form.fields["team"] = TeamField(
        label="Team",
        choices=choices,
        required=not no_team,
        default=only,
        initial=only,
        help_text=help_text,
        error_messages={
            "required": required if choices else none_offered,
            "invalid_choice": "Choose one of your teams.",
        },
    )


def chosen_team(form: forms.Form) -> dict[str, str]:
    """The ownership label of a valid form with a team field, set even for no team (empty):
    an image's own `LABEL berth.team=…` would otherwise pass on to the container and claim it."""
    return {access.TEAM_LABEL: form.cleaned_data.get("team", NO_TEAM) or ""}


def creation_arguments(form: forms.Form) -> dict:
    """The keyword arguments of the engine's (and cli's) create call from a valid create form
    with a team field: its fields but the team, whose label comes first among the labels."""
    arguments = {name: value for name, value in form.cleaned_data.items() if name != "team"}
    arguments["labels"] = chosen_team(form) | arguments.get("labels", {})
    return arguments


class NetworkCreateForm(forms.Form):
    """`docker network create`."""

    name = forms.CharField(max_length=128)
    driver = forms.ChoiceField(choices=[(d, d) for d in NETWORK_DRIVERS], initial="bridge")
    subnet = forms.CharField(required=False, max_length=64, help_text="CIDR, e.g. 172.30.0.0/24")
    gateway = forms.CharField(required=False, max_length=64)
    internal = forms.BooleanField(required=False)
    attachable = forms.BooleanField(required=False)
    labels = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=8192
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not OBJECT_NAME.match(name):
            raise ValidationError(
                "A network name starts with a letter or digit and holds only letters, digits, _ . -"
            )
        if FULL_ID.match(name):
            raise ValidationError("A network name may not be 64 hex digits, as an id is.")
        return name

    def clean_subnet(self) -> str:
        subnet = self.cleaned_data["subnet"].strip()
        if subnet:
            try:
                return str(ipaddress.ip_network(subnet, strict=True))
            except ValueError as error:
                raise ValidationError(f"Not a subnet in CIDR form: {error}") from error
        return subnet

    def clean_gateway(self) -> str:
        gateway = self.cleaned_data["gateway"].strip()
        if gateway:
            try:
                return str(ipaddress.ip_address(gateway))
            except ValueError as error:
                raise ValidationError(f"Not an IP address: {error}") from error
        return gateway

    def clean_labels(self) -> dict[str, str]:
        return parse_labels(self.cleaned_data["labels"])

    def clean(self) -> dict:
        data = super().clean()
        subnet, gateway = data.get("subnet"), data.get("gateway")
        if gateway and not subnet and "subnet" not in self.errors:
            self.add_error("gateway", "A gateway needs a subnet.")
        elif (
            gateway and subnet and ipaddress.ip_address(gateway) not in ipaddress.ip_network(subnet)
        ):
            self.add_error("gateway", f"{gateway} is not in {subnet}.")
        return data


class VolumeCreateForm(forms.Form):
    """`docker volume create`. Without `any_volume` (access.ANY_VOLUME), only a volume that
    cannot reach the host's own files: see rules.host_volume_refusals."""

    name = forms.CharField(required=False, max_length=255, help_text="Empty: the engine picks one")
    driver = forms.CharField(initial="local", max_length=128)
    labels = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=8192
    )
    options = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=8192
    )

    def __init__(self, *args, any_volume: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.any_volume = any_volume

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if name and (len(name) < 2 or not OBJECT_NAME.match(name)):
            raise ValidationError(
                "A volume name has at least two characters, starts with a letter or digit and "
                "holds only letters, digits, _ . -"
            )
        return name

    def clean_driver(self) -> str:
        driver = self.cleaned_data["driver"].strip()
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$", driver):
            raise ValidationError("Not a volume driver name.")
        return driver

    def clean_labels(self) -> dict[str, str]:
        return parse_labels(self.cleaned_data["labels"])

    def clean_options(self) -> dict[str, str]:
        return parse_pairs(self.cleaned_data["options"], what="option")

    def clean(self) -> dict:
        data = super().clean()
        if not self.any_volume and "driver" in data:
            refusals = rules.host_volume_refusals(data["driver"], data.get("options") or {})
            for field, problems in refusals.items():
                for problem in problems:
                    self.add_error(field, problem)
        return data


class ImageListForm(forms.Form):
    dangling = forms.BooleanField(required=False)


class ForceForm(forms.Form):
    """The `-f` of `docker volume rm`."""

    force = forms.BooleanField(required=False)


class ImageRemoveForm(ForceForm):
    """`docker rmi [-f]`; with a tag, only that tag is removed (untagged)."""

    tag = forms.RegexField(
        required=False,
        max_length=255,
        regex=r"^[A-Za-z0-9][A-Za-z0-9_.:/@-]*$",
        error_messages={"invalid": "Not an image tag."},
    )


# An image reference as `docker tag` takes it: [registry[:port]/]path[:tag], lower-case path
# components (the engine refuses upper case there), no digest.
# A first part is a registry only if it has a dot or a port, or is localhost (docker's rule):
# `UPPER/name` is a repository, and a repository is lower case.
IMAGE_REFERENCE = re.compile(
    r"^(?:(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::[0-9]+)?|[A-Za-z0-9-]+:[0-9]+|localhost)/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$"
)


def split_reference(reference: str) -> tuple[str, str]:
    """(repository, tag) of a reference; `name` alone means `name:latest`, as the CLI says."""
    repository, colon, tag = reference.rpartition(":")
    if not colon or "/" in tag:  # no tag, or the colon was a registry's port
        return reference, "latest"
    return repository, tag


class ImageTagForm(forms.Form):
    """`docker tag <image> <target>`: cleans `target` to repository:tag, and gives both parts
    as `repository` and `tag`, as the engine takes them."""

    target = forms.CharField(max_length=255, strip=True)

    def clean_target(self) -> str:
        target = self.cleaned_data["target"]
        if not IMAGE_REFERENCE.match(target):
            raise ValidationError(
                f"{target} is not an image reference: write [registry/]name[:tag], the name "
                "in lower case (letters, digits, . _ -)."
            )
        self.cleaned_data["repository"], self.cleaned_data["tag"] = split_reference(target)
        return "{repository}:{tag}".format(**self.cleaned_data)


DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class ImagePullForm(forms.Form):
    """`docker pull <reference>`: cleaned to repository:tag or repository@digest, and gives
    `repository` and `tag` (a tag or a digest) as the engine takes them. A name alone means
    name:latest, as the CLI says: never every tag."""

    reference = forms.CharField(max_length=512, strip=True)

    def clean_reference(self) -> str:
        reference = self.cleaned_data["reference"]
        name, at, digest = reference.partition("@")
        if at and not DIGEST.match(digest):
            raise ValidationError(f"{digest} is not a digest: write sha256: and 64 hex digits.")
        if not IMAGE_REFERENCE.match(name):
            raise ValidationError(
                f"{reference} is not an image reference: write [registry/]name[:tag] or "
                "[registry/]name@sha256:…, the name in lower case (letters, digits, . _ -)."
            )
        if at:
            self.cleaned_data["repository"], self.cleaned_data["tag"] = name, digest
            return reference
        self.cleaned_data["repository"], self.cleaned_data["tag"] = split_reference(name)
        return "{repository}:{tag}".format(**self.cleaned_data)


class ImagePushForm(ImagePullForm):
    """`docker push <reference>`: a tag of the image (pushed by tag, never by digest)."""

    def clean_reference(self) -> str:
        reference = super().clean_reference()
        if "@" in reference:
            raise ValidationError("Push a tag (name:tag), not a digest.")
        return reference


class ImagePruneForm(forms.Form):
    """`docker image prune [-a]`: dangling images only, unless `all`."""

    all = forms.ChoiceField(required=False, choices=[("", "dangling images"), ("1", "all unused")])


# A build stage's name (`FROM … AS name`), which --target names.
BUILD_STAGE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,127}$")


def parse_tags(text: str) -> tuple[str, ...]:
    """`-t` lines, one a line (or one alone), each cleaned to repository:tag as ImageTagForm
    does; the same tag twice is kept once."""
    tags: list[str] = []
    for number, line in _lines(text):
        if not IMAGE_REFERENCE.match(line):
            raise ValidationError(
                f"Line {number}: {line} is not an image reference: write [registry/]name[:tag], "
                "the name in lower case (letters, digits, . _ -)."
            )
        tag = "{}:{}".format(*split_reference(line))
        if tag not in tags:
            tags.append(tag)
    return tuple(tags)


def parse_build_args(text: str) -> dict[str, str]:
    """`--build-arg` lines, KEY=value, read as `parse_env` reads variables."""
    build_args: dict[str, str] = {}
    for name, value in parse_env(text, where="Build argument line"):
        if name in build_args:
            raise ValidationError(f"Build argument {name} is given twice.")
        build_args[name] = value
    return build_args


class ImageBuildForm(forms.Form):
    """`docker build`, its fields named after the CLI's flags. The context is a typed
    Dockerfile, an uploaded tar (gzip allowed), or both: then the typed Dockerfile is added to
    the uploaded context (see uploads.context_with_dockerfile) and used instead of the
    context's own. Checks that the upload is a tar without reading more than its start."""

    dockerfile = forms.CharField(
        required=False, strip=False, max_length=256 * 1024, widget=forms.Textarea
    )
    context = forms.FileField(required=False)
    tag = forms.CharField(required=False, max_length=8192, widget=forms.Textarea)
    build_arg = forms.CharField(required=False, max_length=65536, widget=forms.Textarea)
    target = forms.CharField(required=False, max_length=128, strip=True)
    no_cache = forms.BooleanField(required=False)
    pull = forms.BooleanField(required=False)

    def clean_dockerfile(self) -> str:
        # Browsers send a textarea's lines ending in CRLF.
        dockerfile = self.cleaned_data["dockerfile"].replace("\r\n", "\n")
        return dockerfile if dockerfile.strip() else ""

    def clean_context(self):
        context = self.cleaned_data["context"]
        if context and (problem := uploads.tar_problem(context) or uploads.size_problem(context)):
            raise ValidationError(f"The context {context.name} cannot be used: {problem}")
        return context

    def clean_tag(self) -> tuple[str, ...]:
        return parse_tags(self.cleaned_data["tag"])

    def clean_build_arg(self) -> dict[str, str]:
        return parse_build_args(self.cleaned_data["build_arg"])

    def clean_target(self) -> str:
        target = self.cleaned_data["target"]
        if target and not BUILD_STAGE.match(target):
            raise ValidationError(
                f"{target} is not a build stage's name (FROM … AS name): letters, digits, . _ -."
            )
        return target

    def clean(self) -> dict:
        data = super().clean()
        if not self.errors and not data.get("dockerfile") and not data.get("context"):
            raise ValidationError(
                "Type a Dockerfile, or upload a context: a tar (or .tar.gz) holding a Dockerfile."
            )
        return data


class ImageLoadForm(forms.Form):
    """`docker load --input <file>`: a tar written by `docker save`, gzip allowed."""

    input = forms.FileField(
        error_messages={"required": "Choose a tar file to load, as written by docker save."}
    )

    def clean_input(self):
        upload = self.cleaned_data["input"]
        if problem := uploads.tar_problem(upload) or uploads.size_problem(upload):
            raise ValidationError(f"{upload.name} cannot be loaded: {problem}")
        return upload


DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d)$")
DURATION_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def log_time(text: str, *, now: float) -> str:
    """A time as `docker logs --since/--until` takes it (RFC 3339, Unix seconds, or a
    duration ago like 10m), as the Unix seconds the engine takes; "" for none."""
    text = text.strip()
    if not text:
        return ""
    if match := DURATION.match(text):
        return f"{now - float(match[1]) * DURATION_SECONDS[match[2]]:.9f}"
    if re.match(r"^\d+(\.\d+)?$", text):
        return text
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise ValidationError(
            "Write a time as 2026-01-02T13:23:37Z, as Unix seconds, or as a duration like 10m."
        ) from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"{moment.timestamp():.9f}"


class LogsForm(forms.Form):
    """The options of `docker logs`: --tail, --since, --until, --follow."""

    tail = forms.CharField(required=False, max_length=10)
    since = forms.CharField(required=False, max_length=64)
    until = forms.CharField(required=False, max_length=64)
    follow = forms.BooleanField(required=False)

    def clean_tail(self) -> int | None:
        tail = self.cleaned_data["tail"].strip() or "500"
        if tail == "all":
            return None
        if not tail.isdigit() or int(tail) > 1_000_000:
            raise ValidationError("Tail is a number of lines up to 1000000, or all.")
        return int(tail)

    def clean_since(self) -> str | None:
        return log_time(self.cleaned_data["since"], now=time.time()) or None

    def clean_until(self) -> str | None:
        return log_time(self.cleaned_data["until"], now=time.time()) or None


class ExecForm(forms.Form):
    """What a terminal runs: `docker exec -it [-u user] [-w workdir] <container> <cmd>`.
    An empty command means bash if the image has it, else sh."""

    cmd = forms.CharField(required=False, max_length=4096, strip=True)
    user = forms.CharField(required=False, max_length=256, strip=True)
    workdir = forms.CharField(required=False, max_length=4096, strip=True)

    def clean_cmd(self) -> list[str]:
        try:
            words = shlex.split(self.cleaned_data["cmd"])
        except ValueError as error:
            raise ValidationError(f"The command cannot be split into words: {error}.") from None
        if len(words) > 256:
            raise ValidationError("A command has at most 256 words.")
        return words


class RegistryLoginForm(forms.Form):
    """`docker login --username <user> <server>`: `server` cleaned to the address the login is
    stored and checked under (Docker Hub when empty). The password is always asked for, so a
    login cannot be moved to another server without it, and is never drawn back into the page."""

    server = forms.CharField(
        required=False,
        max_length=300,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": "host[:port]; empty for Docker Hub"}),
    )
    username = forms.CharField(max_length=255, strip=True)
    password = forms.CharField(
        max_length=8192,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    def clean_server(self) -> str:
        try:
            return normalise_server(self.cleaned_data["server"])
        except InvalidServer as error:
            raise ValidationError(str(error)) from None

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        if any(ord(c) < 32 or ord(c) == 127 for c in username):
            raise ValidationError("A username holds no control characters.")
        return username


# --- docker run -----------------------------------------------------------------------------

# A container name as the engine takes it (at least two characters).
CONTAINER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]+$")
VOLUME_NAME = CONTAINER_NAME
IMAGE_ID = re.compile(r"^(sha256:)?[0-9a-f]{12,64}$")
IMAGE_DIGEST = re.compile(r"^(?P<name>[^@\s]+)@sha256:[0-9a-f]{64}$")
HOSTNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$")
USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$")
CAPABILITY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
SECURITY_OPT = re.compile(r"^[a-z][a-z-]*([=:]\S.*)?$")
RESTART = re.compile(r"^(?P<name>no|always|unless-stopped|on-failure)(?::(?P<retries>\d{1,6}))?$")
SIZE = re.compile(r"^(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[bkmg]?)b?$", re.I)
SIZE_FACTORS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
# The engine refuses a memory limit below 6 MiB.
MIN_MEMORY = 6 * 1024**2
PROTOCOLS = ("tcp", "udp", "sctp")
VOLUME_MODES = {
    "ro", "rw", "z", "Z", "nocopy", "consistent", "cached", "delegated",
    "shared", "rshared", "slave", "rslave", "private", "rprivate",
}  # fmt: skip
MOUNT_TYPES = ("volume", "bind", "tmpfs")
MOUNT_KEYS = "type, source, target, readonly, tmpfs-size and tmpfs-mode"
MOUNT_KEY_ALIASES = {"src": "source", "destination": "target", "dst": "target", "ro": "readonly"}
SMALL_TEXTAREA = {"rows": 2}
ENV_FILE_MAX_BYTES = 256 * 1024
NAMESPACE_SHARING = re.compile(r"^container:[A-Za-z0-9][A-Za-z0-9_.-]*$")
PUBLISH_HELP = (
    "One a line: [ip:]host_port:container_port[/tcp|udp|sctp], e.g. 8080:80. Without an "
    "ip the port is published on 127.0.0.1 only (not on every interface, as docker would): "
    "write 0.0.0.0:8080:80 to publish it to the network. An empty host port lets the "
    "engine pick one (127.0.0.1::80)."
)


def _lines(text: str) -> list[tuple[int, str]]:
    """(line number, text) of each line that holds something."""
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def parse_env(text: str, *, where: str = "Line") -> list[tuple[str, str]]:
    """NAME=value a line, as `docker run --env-file` reads them: blank lines and lines starting
    with # are skipped, the space before a name is dropped, the value is kept as it is."""
    pairs = []
    for number, line in enumerate(text.removeprefix("\ufeff").splitlines(), 1):
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        name, equals, value = line.partition("=")
        if not name or any(c.isspace() for c in name):
            raise ValidationError(
                f"{where} {number}: a variable's name is neither empty nor holds spaces: "
                "write NAME=value."
            )
        if not equals:
            # docker would take the value from the environment of the shell it runs in,
            # which a web page does not have.
            raise ValidationError(f"{where} {number}: {name} has no value: write {name}=value.")
        pairs.append((name, value))
    return pairs


def parse_publish(text: str) -> tuple[PortBinding, ...]:
    """`-p` lines: [ip:][host_port:]container_port[/protocol]; no ip means 127.0.0.1."""
    ports = []
    for number, line in _lines(text):
        problem = f"Line {number} ({line}): "
        usage = "write [ip:]host_port:container_port[/tcp|udp|sctp], e.g. 8080:80."
        ports_part, _, protocol = line.partition("/")
        protocol = protocol or "tcp"
        if protocol not in PROTOCOLS:
            raise ValidationError(f"{problem}the protocol is tcp, udp or sctp.")
        if "-" in ports_part:
            raise ValidationError(f"{problem}one port a line: ranges are not taken.")
        host_ip = "127.0.0.1"
        if ports_part.startswith("["):  # an IPv6 address: [::1]:8080:80
            host_ip, bracket, ports_part = ports_part[1:].partition("]:")
            parts = ports_part.split(":")
            if not bracket or len(parts) != 2:
                raise ValidationError(f"{problem}{usage}")
        else:
            parts = ports_part.split(":")
            if len(parts) == 3:
                host_ip = parts.pop(0)
        if len(parts) > 2:
            raise ValidationError(f"{problem}{usage} An IPv6 address goes in brackets: [::1].")
        host_port, container_port = ("", *parts)[-2:]
        try:
            host_ip = str(ipaddress.ip_address(host_ip))
        except ValueError:
            raise ValidationError(f"{problem}{host_ip} is not an IP address.") from None
        numbers = [p for p in (host_port, container_port) if p]
        if not all(p.isdigit() and 0 < int(p) < 65536 for p in numbers) or not container_port:
            raise ValidationError(f"{problem}a port is a number from 1 to 65535; {usage}")
        ports.append(
            PortBinding(
                container_port=int(container_port),
                protocol=protocol,
                host_ip=host_ip,
                host_port=int(host_port) if host_port else None,
            )
        )
    return tuple(ports)


def _absolute(path: str, *, problem: str, what: str) -> str:
    if not path.startswith("/") or "\x00" in path:
        message = f"{problem}the {what} is an absolute path, starting with /."
        raise ValidationError(message[0].upper() + message[1:])
    return path


def parse_volumes(text: str) -> tuple[VolumeBind, ...]:
    """`-v` lines: name:/path[:mode], /host/path:/path[:mode], or /path (anonymous)."""
    volumes = []
    for number, line in _lines(text):
        problem = f"Line {number} ({line}): "
        parts = line.split(":")
        if len(parts) > 3:
            raise ValidationError(f"{problem}write volume_name:/path[:ro], one a line.")
        if len(parts) == 1:
            target = _absolute(parts[0], problem=problem, what="path in the container")
            volumes.append(VolumeBind(source="", target=target))
            continue
        source, target, mode = (*parts, "")[:3]
        if not source.startswith("/") and not VOLUME_NAME.match(source):
            raise ValidationError(
                f"{problem}{source} is neither a volume name (letters, digits, _ . -, at least "
                "two) nor an absolute host path."
            )
        _absolute(target, problem=problem, what="path in the container")
        words = mode.split(",") if mode else []
        unknown = [w for w in words if w not in VOLUME_MODES]
        if unknown or {"ro", "rw"} <= set(words):
            raise ValidationError(
                f"{problem}the mode is ro or rw, with z, Z, nocopy or a propagation mode."
            )
        volumes.append(VolumeBind(source=source, target=target, mode=mode))
    return tuple(volumes)


def parse_size(text: str, *, what: str) -> int:
    """Bytes of a size as docker takes it: 512m, 1g, 1.5g, 65536."""
    found = SIZE.match(text.strip())
    if not found:
        raise ValidationError(f"Write the {what} as a number with b, k, m or g, e.g. 512m.")
    return int(Decimal(found["number"]) * SIZE_FACTORS[found["unit"].lower()])


def parse_mounts(text: str) -> tuple[MountSpec, ...]:
    """`--mount` lines: type=volume|bind|tmpfs,source=…,target=…[,readonly][,tmpfs-size=…]."""
    mounts = []
    for number, line in _lines(text):
        problem = f"Line {number} ({line}): "
        fields: dict[str, str] = {}
        for item in line.split(","):
            written, equals, value = item.strip().partition("=")
            key = MOUNT_KEY_ALIASES.get(written, written)
            if key == "readonly":
                if value.lower() not in ("", "1", "true", "0", "false"):
                    raise ValidationError(f"{problem}readonly is true or false.")
                fields[key] = "false" if value.lower() in ("0", "false") else "true"
            elif key in ("type", "source", "target", "tmpfs-size", "tmpfs-mode") and equals:
                fields[key] = value
            else:
                raise ValidationError(f"{problem}Berth takes the mount options {MOUNT_KEYS}.")
        kind = fields.get("type", "volume")
        if kind not in MOUNT_TYPES:
            raise ValidationError(f"{problem}the type is volume, bind or tmpfs.")
        target = _absolute(fields.get("target", ""), problem=problem, what="target")
        source = fields.get("source", "")
        if kind == "bind":
            _absolute(source, problem=problem, what="source of a bind")
        elif kind == "volume" and source and not VOLUME_NAME.match(source):
            raise ValidationError(
                f"{problem}{source} is not a volume name (letters, digits, _ . -, at least two)."
            )
        elif kind == "tmpfs" and source:
            raise ValidationError(f"{problem}a tmpfs has no source.")
        if kind != "tmpfs" and ("tmpfs-size" in fields or "tmpfs-mode" in fields):
            raise ValidationError(f"{problem}tmpfs-size and tmpfs-mode are for type=tmpfs.")
        mode = fields.get("tmpfs-mode", "")
        if mode and not re.fullmatch(r"[0-7]{1,4}", mode):
            raise ValidationError(f"{problem}tmpfs-mode is an octal mode, e.g. 1777.")
        size = fields.get("tmpfs-size", "")
        mounts.append(
            MountSpec(
                type=kind,
                target=target,
                source=source,
                read_only=fields.get("readonly") == "true",
                tmpfs_size=parse_size(size, what="tmpfs-size") if size else 0,
                tmpfs_mode=int(mode, 8) if mode else 0,
            )
        )
    return tuple(mounts)


def parse_devices(text: str) -> tuple[DeviceMapping, ...]:
    """`--device` lines: /dev/host[:/dev/container[:rwm]]."""
    devices = []
    for number, line in _lines(text):
        problem = f"Line {number} ({line}): "
        host, _, rest = line.partition(":")
        container, _, permissions = rest.partition(":")
        _absolute(host, problem=problem, what="device on the host")
        if container:
            _absolute(container, problem=problem, what="device in the container")
        if permissions and not re.fullmatch(r"[rwm]{1,3}", permissions):
            raise ValidationError(f"{problem}the permissions are some of r, w and m.")
        devices.append(DeviceMapping(host, container or host, permissions or "rwm"))
    return tuple(devices)


def _capabilities(text: str) -> tuple[str, ...]:
    caps = []
    for number, line in _lines(text):
        if not CAPABILITY.match(line):
            raise ValidationError(f"Line {number} ({line}): not a capability, e.g. NET_ADMIN.")
        caps.append(line.upper())
    return tuple(dict.fromkeys(caps))


def _security_options(text: str) -> tuple[str, ...]:
    options = []
    for number, line in _lines(text):
        if not SECURITY_OPT.match(line):
            raise ValidationError(
                f"Line {number} ({line}): write a security option as seccomp=unconfined, "
                "apparmor=…, label=… or no-new-privileges."
            )
        kind, _, value = line.replace(":", "=", 1).partition("=")
        if kind == "seccomp" and value != "unconfined" and not value.startswith("{"):
            # The CLI reads a profile's file itself and sends its content to the engine.
            raise ValidationError(
                f"Line {number}: seccomp takes unconfined or the profile itself (JSON), not "
                "a file, which only the docker command on your own machine could read."
            )
        options.append(line)
    return tuple(options)


class ContainerRunForm(forms.Form):
    """`docker run`, one field per long flag (- as _). cleans to a ContainerSpec (spec());
    what it may hand the container of the host is checked by rules.privileged_options."""

    image = forms.CharField(
        max_length=512,
        help_text="A local image: repository:tag, or an id",
        widget=forms.TextInput(attrs={"list": "run-images", "autocomplete": "off"}),
    )
    name = forms.CharField(
        label="Name (--name)", required=False, max_length=128, help_text="Empty: the engine picks"
    )
    command = forms.CharField(required=False, max_length=8192, help_text="Empty: the image's")
    entrypoint = forms.CharField(
        label="Entrypoint (--entrypoint)",
        required=False,
        max_length=4096,
        help_text='Empty: the image\'s; "" to reset it',
    )
    env = forms.CharField(
        label="Environment (-e)",
        required=False,
        max_length=65536,
        strip=False,
        widget=forms.Textarea(attrs=SMALL_TEXTAREA),
        help_text="One NAME=value a line",
    )
    env_file = forms.FileField(
        label="Env file (--env-file)",
        required=False,
        help_text="NAME=value lines; # comments and blank lines are skipped",
    )
    publish = forms.CharField(
        label="Publish (-p)",
        required=False,
        max_length=8192,
        widget=forms.Textarea(attrs=SMALL_TEXTAREA),
        help_text=PUBLISH_HELP,
    )
    volume = forms.CharField(
        label="Volumes (-v)",
        required=False,
        max_length=8192,
        widget=forms.Textarea(attrs=SMALL_TEXTAREA),
        help_text="One a line: volume_name:/path[:ro]",
    )
    mount = forms.CharField(
        label="Mounts (--mount)",
        required=False,
        max_length=8192,
        widget=forms.Textarea(attrs=SMALL_TEXTAREA),
        help_text="One a line: type=volume,source=…,target=…[,readonly] or type=tmpfs,target=…",
    )
    network = forms.CharField(
        label="Network (--network)",
        required=False,
        max_length=256,
        help_text="Empty: the team's own network (berth-team-<team>); the engine's bridge, "
        "which every team's containers share, is for superusers",
        widget=forms.TextInput(attrs={"list": "run-networks", "autocomplete": "off"}),
    )
    restart = forms.CharField(
        label="Restart (--restart)",
        max_length=32,
        initial="no",
        help_text="no, always, unless-stopped, on-failure[:N]",
        widget=forms.TextInput(attrs={"list": "run-restart", "autocomplete": "off"}),
    )
    label = forms.CharField(
        label="Labels (--label)",
        required=False,
        max_length=65536,
        widget=forms.Textarea(attrs=SMALL_TEXTAREA),
        help_text="One key=value a line",
    )
    workdir = forms.CharField(label="Working dir (-w)", required=False, max_length=4096)
    user = forms.CharField(
        label="User (-u)", required=False, max_length=256, help_text="name or uid[:gid]"
    )
    hostname = forms.CharField(label="Hostname (-h)", required=False, max_length=253)
    memory = forms.CharField(
        label="Memory (-m)", required=False, max_length=32, help_text="e.g. 512m, 1g"
    )
    cpus = forms.CharField(
        label="CPUs (--cpus)", required=False, max_length=32, help_text="e.g. 1.5"
    )
    detach = forms.BooleanField(required=False, initial=True, label="Detach (-d)")
    interactive = forms.BooleanField(required=False, label="Interactive (-i)")
    tty = forms.BooleanField(required=False, label="TTY (-t)")
    rm = forms.BooleanField(required=False, label="Remove when it stops (--rm)")
    # Only a superuser may use what follows but cap_drop: rules.privileged_options says why.
    privileged = forms.BooleanField(label="Privileged (--privileged)", required=False)
    cap_add = forms.CharField(
        label="Add capabilities (--cap-add)",
        required=False,
        max_length=4096,
        widget=forms.Textarea(attrs=SMALL_TEXTAREA),
        help_text="One a line",
    )
    cap_drop = forms.CharField(
        label="Drop capabilities (--cap-drop)",
        required=False,
        max_length=4096,
        widget=forms.Textarea(attrs=SMALL_TEXTAREA),
        help_text="One a line",
    )
    device = forms.CharField(
        label="Devices (--device)",
        required=False,
        max_length=8192,
        widget=forms.Textarea(attrs=SMALL_TEXTAREA),
        help_text="One a line: /dev/host[:/dev/container[:rwm]]",
    )
    pid = forms.CharField(
        label="PID namespace (--pid)", required=False, max_length=256, help_text="Empty, or host"
    )
    ipc = forms.CharField(
        label="IPC namespace (--ipc)",
        required=False,
        max_length=256,
        help_text="Empty, host, private, shareable or none",
    )
    userns = forms.ChoiceField(
        label="User namespace (--userns)",
        required=False,
        choices=[("", "default"), ("host", "host")],
    )
    security_opt = forms.CharField(
        label="Security options (--security-opt)",
        required=False,
        max_length=65536,
        widget=forms.Textarea(attrs=SMALL_TEXTAREA),
        help_text="One a line, e.g. seccomp=unconfined",
    )
    # How the page lays the fields out; the last group holds what only a superuser may use
    # (but --cap-drop, which takes away).
    GROUPS = (
        ("Container", ("team", "image", "name", "command", "entrypoint", "workdir", "user")),
        ("Environment", ("env", "env_file", "label")),
        ("Network", ("publish", "network", "hostname")),
        ("Storage", ("volume", "mount")),
        ("Running", ("restart", "memory", "cpus", "detach", "interactive", "tty", "rm")),
        (
            "Host access",
            ("privileged", "cap_add", "cap_drop", "device", "pid", "ipc", "userns", "security_opt"),
        ),
    )

    def groups(self) -> list[tuple[str, list]]:
        """(title, bound fields) in the order the page shows them; the team's field only
        where the view added it (add_team_field)."""
        return [
            (title, [self[name] for name in names if name in self.fields])
            for title, names in self.GROUPS
        ]

    def clean_image(self) -> str:
        image = self.cleaned_data["image"].strip()
        digest = IMAGE_DIGEST.match(image)
        if not (
            IMAGE_ID.match(image)
            or IMAGE_REFERENCE.match(image)
            or (digest and IMAGE_REFERENCE.match(digest["name"]))
        ):
            raise ValidationError(
                f"{image} is not an image: write [registry/]name[:tag], name@sha256:…, or an id."
            )
        return image

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip().removeprefix("/")
        if name and not CONTAINER_NAME.match(name):
            raise ValidationError(
                "A container name has at least two characters, starts with a letter or digit "
                "and holds only letters, digits, _ . -"
            )
        if FULL_ID.match(name):
            # The engine finds an object by its full id before its name: such a name would
            # stand for another container wherever an id is taken.
            raise ValidationError("A container name may not be 64 hex digits, as an id is.")
        return name

    @staticmethod
    def _words(text: str, what: str) -> list[str]:
        try:
            words = shlex.split(text)
        except ValueError as error:
            raise ValidationError(f"The {what} cannot be split into words: {error}.") from None
        if len(words) > 1024:
            raise ValidationError(f"The {what} has at most 1024 words.")
        return words

    def clean_command(self) -> tuple[str, ...]:
        return tuple(self._words(self.cleaned_data["command"], "command"))

    def clean_entrypoint(self) -> tuple[str, ...] | None:
        text = self.cleaned_data["entrypoint"]
        words = self._words(text, "entrypoint")
        if not text.strip():
            return None
        return () if words == [""] else tuple(words)

    def clean_env(self) -> list[tuple[str, str]]:
        return parse_env(self.cleaned_data["env"])

    def clean_env_file(self) -> list[tuple[str, str]]:
        upload = self.cleaned_data["env_file"]
        if not upload:
            return []
        if upload.size > ENV_FILE_MAX_BYTES:
            raise ValidationError(f"An env file holds at most {ENV_FILE_MAX_BYTES // 1024} KiB.")
        try:
            text = upload.read().decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError("The env file is not UTF-8 text.") from None
        return parse_env(text, where="Env file, line")

    def clean_publish(self) -> tuple[PortBinding, ...]:
        return parse_publish(self.cleaned_data["publish"])

    def clean_volume(self) -> tuple[VolumeBind, ...]:
        return parse_volumes(self.cleaned_data["volume"])

    def clean_mount(self) -> tuple[MountSpec, ...]:
        return parse_mounts(self.cleaned_data["mount"])

    def clean_network(self) -> str:
        network = self.cleaned_data["network"].strip()
        if network and not (OBJECT_NAME.match(network) or NAMESPACE_SHARING.match(network)):
            raise ValidationError("Write a network's name, host, none or container:<name>.")
        return network

    def clean_restart(self) -> tuple[str, int]:
        found = RESTART.match(self.cleaned_data["restart"].strip())
        if not found or (found["retries"] and found["name"] != "on-failure"):
            raise ValidationError("Restart is no, always, unless-stopped or on-failure[:N].")
        return found["name"], int(found["retries"] or 0)

    def clean_label(self) -> dict[str, str]:
        return parse_labels(self.cleaned_data["label"])

    def clean_workdir(self) -> str:
        workdir = self.cleaned_data["workdir"].strip()
        if workdir:
            _absolute(workdir, problem="", what="working directory")
        return workdir

    def clean_user(self) -> str:
        user = self.cleaned_data["user"].strip()
        if user and not USER.match(user):
            raise ValidationError("Write a user as a name or uid, with :group or :gid if need be.")
        return user

    def clean_hostname(self) -> str:
        hostname = self.cleaned_data["hostname"].strip()
        if hostname and not HOSTNAME.match(hostname):
            raise ValidationError("A hostname holds only letters, digits, . and -.")
        return hostname

    def clean_memory(self) -> int:
        text = self.cleaned_data["memory"].strip()
        if not text:
            return 0
        memory = parse_size(text, what="memory limit")
        if memory < MIN_MEMORY:
            raise ValidationError("The engine takes a memory limit of at least 6m.")
        return memory

    def clean_cpus(self) -> int:
        text = self.cleaned_data["cpus"].strip()
        if not text:
            return 0
        try:
            cpus = Decimal(text)
        except ArithmeticError:
            cpus = Decimal(-1)
        if not cpus.is_finite() or cpus <= 0 or cpus > 1024:
            raise ValidationError("Write the CPUs as a number above 0, e.g. 1.5.")
        return int(cpus * 1_000_000_000)

    def clean_cap_add(self) -> tuple[str, ...]:
        return _capabilities(self.cleaned_data["cap_add"])

    def clean_cap_drop(self) -> tuple[str, ...]:
        return _capabilities(self.cleaned_data["cap_drop"])

    def clean_device(self) -> tuple[DeviceMapping, ...]:
        return parse_devices(self.cleaned_data["device"])

    def clean_pid(self) -> str:
        pid = self.cleaned_data["pid"].strip()
        if pid and pid != "host" and not NAMESPACE_SHARING.match(pid):
            raise ValidationError("--pid is empty, host or container:<name>.")
        return pid

    def clean_ipc(self) -> str:
        ipc = self.cleaned_data["ipc"].strip()
        known = ("", "host", "private", "shareable", "none")
        if ipc not in known and not NAMESPACE_SHARING.match(ipc):
            raise ValidationError(
                "--ipc is empty, host, private, shareable, none or container:<name>."
            )
        return ipc

    def clean_security_opt(self) -> tuple[str, ...]:
        return _security_options(self.cleaned_data["security_opt"])

    def clean(self) -> dict:
        data = super().clean()
        restart = data.get("restart")
        if data.get("rm") and restart and restart[0] != "no":
            self.add_error(
                "rm", "--rm and --restart do not go together: a removed container cannot restart."
            )
        network = data.get("network", "")
        if data.get("publish") and (
            network in ("host", "none") or network.startswith("container:")
        ):
            self.add_error(
                "publish",
                f"With --network {network} the container has no ports of its own to publish.",
            )
        if data.get("hostname") and network.startswith("container:"):
            self.add_error(
                "hostname", f"With --network {network} the container has that one's hostname."
            )
        return data

    def spec(self) -> ContainerSpec:
        """The ContainerSpec of a valid form."""
        data = self.cleaned_data
        # --env-file first, then -e, which overrides it, as docker reads them.
        env = dict(data["env_file"]) | dict(data["env"])
        restart, retries = data["restart"]
        return ContainerSpec(
            image=data["image"],
            name=data["name"],
            command=data["command"],
            entrypoint=data["entrypoint"],
            env=tuple(f"{name}={value}" for name, value in env.items()),
            publish=data["publish"],
            volume=data["volume"],
            mount=data["mount"],
            network=data["network"],
            restart=restart,
            restart_max_retries=retries,
            # The team's label first, as the command line shows it.
            label=tuple((chosen_team(self) | data["label"]).items()),
            workdir=data["workdir"],
            user=data["user"],
            hostname=data["hostname"],
            tty=data["tty"],
            interactive=data["interactive"],
            rm=data["rm"],
            memory=data["memory"],
            nano_cpus=data["cpus"],
            detach=data["detach"],
            privileged=data["privileged"],
            cap_add=data["cap_add"],
            cap_drop=data["cap_drop"],
            device=data["device"],
            pid=data["pid"],
            ipc=data["ipc"],
            userns=data["userns"],
            security_opt=data["security_opt"],
        )

    @staticmethod
    def initial_from(spec: ContainerSpec) -> dict:
        """The form's initial values that clean back to `spec` (run similar). A port the
        engine publishes on every interface (no ip) is written 0.0.0.0, as the form reads no
        ip as 127.0.0.1. Labels only Berth sets (berth.*) are left out: the team field sets
        the owner's."""
        entrypoint = "" if spec.entrypoint is None else shlex.join(spec.entrypoint) or '""'
        publish = [
            dataclasses.replace(port, host_ip=port.host_ip or "0.0.0.0") for port in spec.publish
        ]
        return {
            "image": spec.image,
            "name": spec.name,
            "command": shlex.join(spec.command),
            "entrypoint": entrypoint,
            "env": "\n".join(spec.env),
            "publish": "\n".join(cli.publish_value(port) for port in publish),
            "volume": "\n".join(cli.volume_value(v) for v in spec.volume),
            "mount": "\n".join(cli.mount_value(m) for m in spec.mount),
            "network": spec.network,
            "restart": spec.restart_flag,
            "label": "\n".join(
                f"{k}={v}" if v else k for k, v in spec.label if not access.reserved_labels([k])
            ),
            "workdir": spec.workdir,
            "user": spec.user,
            "hostname": spec.hostname,
            "memory": format_size(spec.memory) if spec.memory else "",
            "cpus": format_cpus(spec.nano_cpus) if spec.nano_cpus else "",
            "detach": spec.detach,
            "interactive": spec.interactive,
            "tty": spec.tty,
            "rm": spec.rm,
            "privileged": spec.privileged,
            "cap_add": "\n".join(spec.cap_add),
            "cap_drop": "\n".join(spec.cap_drop),
            "device": "\n".join(cli.device_value(d) for d in spec.device),
            "pid": spec.pid,
            "ipc": spec.ipc,
            "userns": spec.userns,
            "security_opt": "\n".join(spec.security_opt),
        }


# --- docker commit and recreate ---------------------------------------------------------------

# The instructions `docker commit --change` takes (the engine refuses the others).
COMMIT_CHANGES = (
    "CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "USER", "VOLUME", "WORKDIR",
)  # fmt: skip
IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
PAUSE_CHOICES = (
    ("1", "Pause it while committing (the default)"),
    ("0", "Do not pause it (--pause=false)"),
)
PAUSE_ON, PAUSE_OFF = ("", "1", "on", "true", "yes"), ("0", "off", "false", "no")


def _one_line(text: str, what: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ValidationError(f"The {what} is one line, without control characters.")
    return text


def _label_change_keys(argument: str) -> list[str]:
    """The reserved keys (berth.*) a `LABEL key=value …` (or `LABEL key value`) change sets.
    One that cannot be split into words is taken as a whole, so quoting hides no key."""
    try:
        words = shlex.split(argument)
    except ValueError:
        hides = any(prefix in argument.lower() for prefix in access.RESERVED_LABEL_PREFIXES)
        return [argument.strip()] if hides else []
    if words and "=" not in words[0]:
        keys = words[:1]  # the old form: LABEL key value
    else:
        keys = [word.partition("=")[0] for word in words]
    return access.reserved_labels(keys)


class ContainerCommitForm(forms.Form):
    """`docker commit [--pause=false] [-m …] [-a …] [-c …] <container> repository[:tag]`:
    gives `repository`, `tag` and the whole `reference`, `pause` (on unless asked off, as the
    CLI: a select, as an unticked checkbox would send nothing) and `change`, a list."""

    repository = forms.CharField(
        max_length=255,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": "[registry/]name[:tag]"}),
    )
    tag = forms.CharField(
        required=False,
        max_length=128,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": "latest"}),
    )
    message = forms.CharField(label="Message (-m)", required=False, max_length=1024, strip=True)
    author = forms.CharField(label="Author (-a)", required=False, max_length=255, strip=True)
    pause = forms.CharField(
        required=False, max_length=8, widget=forms.Select(choices=PAUSE_CHOICES), initial="1"
    )
    change = forms.CharField(
        label="Changes (-c)",
        required=False,
        max_length=16384,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": 'CMD ["sh"]\nENV KEY=value'}),
        help_text="One a line: " + ", ".join(COMMIT_CHANGES),
    )

    def clean_repository(self) -> str:
        repository = self.cleaned_data["repository"]
        if not IMAGE_REFERENCE.match(repository):
            raise ValidationError(
                f"{repository} is not a repository: write [registry/]name[:tag], the name in "
                "lower case (letters, digits, . _ -)."
            )
        name, colon, tag = repository.rpartition(":")
        if colon and "/" not in tag:  # a tag, not a registry's port
            self.cleaned_data["repository_tag"] = tag
            return name
        return repository

    def clean_tag(self) -> str:
        tag = self.cleaned_data["tag"]
        if tag and not IMAGE_TAG.match(tag):
            raise ValidationError(
                f"{tag} is not a tag: up to 128 letters, digits, _ . -, not starting with . or -."
            )
        return tag

    def clean_message(self) -> str:
        return _one_line(self.cleaned_data["message"], "message")

    def clean_author(self) -> str:
        return _one_line(self.cleaned_data["author"], "author")

    def clean_pause(self) -> bool:
        pause = self.cleaned_data["pause"].strip().lower()
        if pause not in PAUSE_ON + PAUSE_OFF:
            raise ValidationError("Pause is 1 (pause it while committing) or 0 (do not).")
        return pause in PAUSE_ON

    def clean_change(self) -> list[str]:
        changes = []
        for number, line in _lines(self.cleaned_data["change"]):
            instruction = line.split(None, 1)[0]
            argument = line[len(instruction) :]
            if instruction.upper() not in COMMIT_CHANGES:
                raise ValidationError(
                    f"Line {number}: docker commit --change takes "
                    f"{', '.join(COMMIT_CHANGES)}; not {instruction[:32]}."
                )
            if not argument.strip():
                raise ValidationError(f"Line {number}: {instruction.upper()} needs a value.")
            if instruction.upper() == "LABEL" and (reserved := _label_change_keys(argument)):
                raise ValidationError(
                    f"Line {number}: labels {access.RESERVED_LABELS_SAID} are set by Berth "
                    f"and Docker Compose only: {', '.join(reserved)}. A container run from the "
                    "image would inherit them."
                )
            changes.append(f"{instruction.upper()} {argument.strip()}")
        if len(changes) > 100:
            raise ValidationError("At most 100 changes.")
        return changes

    def clean(self) -> dict:
        data = super().clean()
        given = data.pop("repository_tag", "")
        tag = data.get("tag", "")
        if given and tag and given != tag:
            self.add_error("tag", f"The repository says tag {given} and the tag field {tag}.")
        elif "repository" in data and "tag" in data:
            data["tag"] = tag or given or "latest"
            data["reference"] = f"{data['repository']}:{data['tag']}"
        return data


class ContainerRecreateForm(forms.Form):
    """Recreate: `pull` pulls the image's reference first; `confirm`, onto an image its name
    now names that another team (or nobody Berth knows of) made."""

    pull = forms.BooleanField(required=False)
    confirm = forms.BooleanField(required=False)


# A team's slug is the value of its objects' label berth.team=<slug>: Django's slug rule in
# lower case only, so `Dev` and `dev` can never be two teams, or one team under two labels.
TEAM_SLUG = re.compile(r"^[a-z0-9_-]+\Z")
TEAM_SLUG_LENGTH = 63


def validate_team_slug(slug: str) -> None:
    if not TEAM_SLUG.match(slug):
        raise ValidationError(
            f"{slug[:80]!r} is not a team slug: use lower-case letters, digits, hyphens and "
            "underscores only."
        )


# A compose project's name as compose itself allows it (lower case, digits, - and _).
COMPOSE_PROJECT = re.compile(r"^[a-z0-9][a-z0-9_-]*\Z")


class ProjectAssignForm(forms.Form):
    """A compose project to hand to a team (`python manage.py teams assign`)."""

    project = forms.CharField(
        label="Compose project",
        max_length=255,
        strip=True,
        help_text="its containers, networks and volumes (label com.docker.compose.project)",
    )

    def clean_project(self) -> str:
        project = self.cleaned_data["project"]
        if not COMPOSE_PROJECT.match(project):
            raise ValidationError(
                "A compose project's name holds lower-case letters, digits, - and _ only, and "
                "starts with a letter or digit."
            )
        return project


class TeamCreateForm(forms.Form):
    """A new team (`python manage.py teams create`); its name is its slug unless given."""

    slug = forms.CharField(
        max_length=TEAM_SLUG_LENGTH,
        validators=[validate_team_slug],
        help_text="lower case; its objects carry the label berth.team=<slug>",
    )
    name = forms.CharField(required=False, max_length=150)

    def clean_name(self) -> str:
        # `teams list` prints a team a line, its fields split by tabs.
        name = self.cleaned_data["name"]
        if any(ord(c) < 32 or ord(c) == 127 for c in name):
            raise ValidationError("Write the name on one line, without tabs or control characters.")
        return name

    def clean(self) -> dict:
        data = super().clean()
        if data.get("slug") and not data.get("name"):
            data["name"] = data["slug"]
        return data


class MembershipForm(forms.Form):
    """A user's role in a team (`python manage.py teams add`): adds them, or changes the role
    of someone who is a member already. `cleaned_data["user"]` is the user named."""

    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Membership.ROLES, initial=Membership.VIEWER)

    def clean(self) -> dict:
        data = super().clean()
        username = data.get("username")
        if username:
            users = get_user_model()
            user = users._default_manager.filter(**{users.USERNAME_FIELD: username}).first()
            if user is None:
                self.add_error("username", f"There is no user named {username}.")
            else:
                data["user"] = user
        return data


# An image pattern: what a reference holds, with the shell's wildcards * ? [ ] and [!…].
IMAGE_PATTERN = re.compile(r"^[A-Za-z0-9._/:@*?\[\]!-]{1,255}$")
MAX_IMAGE_PATTERNS = 100


REGISTRY_PATTERN = re.compile(r"^[A-Za-z0-9*?\[\]][A-Za-z0-9.*?\[\]-]*(:[0-9*?\[\]]+)?$")


class TeamPolicyForm(forms.Form):
    """A team's policy (policy.py): what its containers may be run with. A blank field is no
    rule. `settings()` gives the Team fields of a valid form."""

    image_patterns = forms.CharField(
        label="Images",
        required=False,
        max_length=16384,
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "nginx:*\nregistry.example.com/team/*"}
        ),
        help_text="One shell-style pattern a line (* matches any characters, / included); a "
        "reference without a tag is matched as written and with :latest. Empty: any image",
    )
    port_min = forms.IntegerField(
        label="Lowest host port (-p)", required=False, min_value=1, max_value=65535
    )
    port_max = forms.IntegerField(
        label="Highest host port (-p)",
        required=False,
        min_value=1,
        max_value=65535,
        help_text="With a range, every published port names its host port in it",
    )
    memory_max = forms.CharField(
        label="Memory per container (-m)",
        required=False,
        max_length=32,
        help_text="e.g. 512m, 2g; every container then sets -m. Empty: no cap",
    )
    cpus_max = forms.CharField(
        label="CPUs per container (--cpus)",
        required=False,
        max_length=32,
        help_text="e.g. 1.5; every container then sets --cpus. Empty: no cap",
    )
    containers_max = forms.IntegerField(
        label="Containers",
        required=False,
        min_value=0,
        max_value=1_000_000,
        help_text="How many the team may have, in any state. Empty: any number",
    )
    registries = forms.CharField(
        label="Registries",
        required=False,
        max_length=16384,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "registry.example.com:5000"}),
        help_text="Where its pulls, pushes and logins may go: host[:port] patterns, one a line. "
        "Empty: any registry but loopback, link-local and private addresses",
    )
    repositories = forms.CharField(
        label="Repositories it writes",
        required=False,
        max_length=16384,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "registry.example.com/team-a/*"}),
        help_text="The image names its tags, commits, builds and loads may take: patterns, one "
        "a line. Empty: any name no other team's container uses",
    )

    def clean_registries(self) -> str:
        return self._patterns("registries", REGISTRY_PATTERN, "a registry (host[:port])")

    def clean_repositories(self) -> str:
        return self._patterns("repositories", IMAGE_PATTERN, "an image name pattern")

    def clean_image_patterns(self) -> str:
        return self._patterns(
            "image_patterns",
            IMAGE_PATTERN,
            "an image pattern: an image reference (letters, digits, . _ - / : @)",
            "image patterns",
        )

    def _patterns(self, field: str, shape: re.Pattern, what: str, items: str = "lines") -> str:
        """A field of patterns, one a line, each of `shape`: blank and repeated lines dropped."""
        lines = list(dict.fromkeys(line for _, line in _lines(self.cleaned_data[field])))
        bad = [line for line in lines if not shape.match(line)]
        if bad:
            raise ValidationError(f"{bad[0][:80]} is not {what} with * ? or [...], one a line.")
        if len(lines) > MAX_IMAGE_PATTERNS:
            raise ValidationError(f"At most {MAX_IMAGE_PATTERNS} {items}.")
        return "\n".join(lines)

    def clean_memory_max(self) -> int | None:
        text = self.cleaned_data["memory_max"].strip()
        if not text:
            return None
        memory = parse_size(text, what="memory cap")
        if memory < MIN_MEMORY:
            raise ValidationError("The engine takes a memory limit of at least 6m.")
        return memory

    def clean_cpus_max(self) -> float | None:
        text = self.cleaned_data["cpus_max"].strip()
        if not text:
            return None
        try:
            cpus = Decimal(text)
        except ArithmeticError:
            cpus = Decimal(-1)
        if not cpus.is_finite() or cpus <= 0 or cpus > 1024:
            raise ValidationError("Write the CPUs as a number above 0, e.g. 1.5.")
        if cpus != cpus.quantize(Decimal("0.001")):
            raise ValidationError("Write the CPUs with at most three decimals, e.g. 1.5.")
        return float(cpus)

    def clean(self) -> dict:
        data = super().clean()
        low, high = data.get("port_min"), data.get("port_max")
        if low is not None and high is not None and low > high:
            self.add_error("port_max", f"The highest port is at least the lowest ({low}).")
        return data

    def settings(self) -> dict:
        """The Team fields of a valid form."""
        return dict(self.cleaned_data)

    @staticmethod
    def initial_of(team) -> dict:
        """The form's initial values from a team's policy."""
        cpus = team.cpus_max
        return {
            "image_patterns": team.image_patterns,
            "port_min": team.port_min,
            "port_max": team.port_max,
            "memory_max": format_size(team.memory_max) if team.memory_max is not None else "",
            "cpus_max": format_cpus(int(Decimal(str(cpus)) * 1_000_000_000))
            if cpus is not None
            else "",
            "containers_max": team.containers_max,
            "registries": team.registries,
            "repositories": team.repositories,
        }


TIME_HELP = "Write a time as 2024-05-01 or 2024-05-01T13:45, with a UTC offset if you like."
# Past these a time cannot be turned into UTC and back everywhere: no audit entry is older.
FIRST_YEAR, LAST_YEAR = 1900, 9998
MAX_ENTRY_ID = 2**63 - 1


def parse_time(text: str, *, end_of_day: bool = False) -> datetime:
    """An ISO 8601 date-time or date (its first moment, or its last with `end_of_day`), in
    the current time zone unless it names its own offset."""
    text = text.strip()
    try:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            value = datetime.fromisoformat(text)
        else:
            value = datetime(day.year, day.month, day.day)
            if end_of_day:
                value += timedelta(days=1, microseconds=-1)
    except (ValueError, OverflowError):
        raise ValidationError(TIME_HELP) from None
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValidationError(f"Write a time between the years {FIRST_YEAR} and {LAST_YEAR}.")
    return timezone.make_aware(value) if timezone.is_naive(value) else value


class AuditFilterForm(forms.Form):
    """The audit page's filters (its query string), also read by its CSV export and its
    live feed. `filters()` is what audit.matching takes."""

    user = forms.CharField(required=False, max_length=150, strip=True)
    team = forms.CharField(
        required=False,
        max_length=TEAM_SLUG_LENGTH,
        strip=True,
        validators=[validate_team_slug],
    )
    action = forms.CharField(required=False, max_length=64, strip=True)
    object = forms.CharField(required=False, max_length=255, strip=True)
    since = forms.CharField(required=False, max_length=64, strip=True)
    until = forms.CharField(required=False, max_length=64, strip=True)
    result = forms.ChoiceField(
        required=False,
        choices=[
            ("", "any result"),
            (audit.OK, "succeeded"),
            (audit.FAILED, "failed"),
            (audit.DENIED, "denied"),
        ],
    )
    q = forms.CharField(required=False, max_length=200, strip=True)
    page = forms.IntegerField(required=False, min_value=1, max_value=10**6)
    # Only entries with a greater id: where the live feed catches up from.
    after = forms.IntegerField(required=False, min_value=0, max_value=MAX_ENTRY_ID)

    def clean_since(self) -> datetime | None:
        text = self.cleaned_data["since"]
        return parse_time(text) if text else None

    def clean_until(self) -> datetime | None:
        text = self.cleaned_data["until"]
        return parse_time(text, end_of_day=True) if text else None

    def clean(self) -> dict:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise ValidationError("The start of the time range is after its end.")
        return data

    def filters(self) -> dict:
        """The filters given, by name, as audit.matching takes them (no page)."""
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name != "page" and value not in (None, "")
        }


# A wall screen made for every container on the host (no team): superusers only.
EVERY_TEAM = NO_TEAM


class ScreenForm(forms.Form):
    """A new wall screen (`python manage.py screens create`): its name, the team whose
    containers it shows (superusers: or every container on the host), only one compose
    project's if given, and whether it may show log lines. `teams`: the slugs the author may
    make screens for; `every_team`: whether they may make one for the whole host."""

    name = forms.CharField(max_length=150, strip=True, help_text="what the wall is called")
    project = forms.CharField(
        label="Compose project",
        required=False,
        max_length=255,
        strip=True,
        help_text="only this project's containers; empty: all of the team's",
    )
    show_logs = forms.BooleanField(
        label="May show log lines", required=False, help_text="off: states and stats only"
    )

    def __init__(self, *args, teams: list[str], every_team: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        add_team_field(
            self,
            teams,
            no_team=every_team,
            no_team_label="every container on the host (superusers only)",
            help_text="the screen shows this team's containers",
            required="Choose the team whose containers it shows.",
            none_offered="You are not an admin of any team, so you may not make a screen.",
        )
        self.order_fields(["name", "team", "project", "show_logs"])

    def clean_name(self) -> str:
        # `screens list` prints a screen a line, its fields split by tabs.
        name = self.cleaned_data["name"]
        if any(ord(c) < 32 or ord(c) == 127 for c in name):
            raise ValidationError("Write the name on one line, without tabs or control characters.")
        return name

    def clean_project(self) -> str:
        project = self.cleaned_data["project"]
        if project and not COMPOSE_PROJECT.match(project):
            raise ValidationError(
                "A compose project's name holds lower-case letters, digits, - and _ only, and "
                "starts with a letter or digit."
            )
        return project
