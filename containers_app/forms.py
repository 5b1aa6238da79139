"""Validated user input, turned into the typed arguments engine functions take."""

import ipaddress
import re
import shlex
import time
from datetime import UTC, datetime

from django import forms
from django.core.exceptions import ValidationError

from containers_app.engine.containers import ACTIONS, STATES

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
        return parse_pairs(self.cleaned_data["labels"], what="label")

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


# The local driver's options a volume may have when its creator may not mount the host's files
# (access.ANY_VOLUME): a tmpfs, sized and owned. Every other type, a device or o=bind mount a
# host path or device, and other drivers are plugins that reach whatever the host reaches.
SAFE_TMPFS_OPTION = re.compile(
    r"size=\d+[kmgKMG%]?|nr_inodes=\d+[kmgKMG]?|mode=[0-7]{3,4}|uid=\d+|gid=\d+"
    r"|noexec|nosuid|nodev"
)
SAFE_VOLUME_OPTIONS = "none, or type=tmpfs, device=tmpfs and o=size=…,mode=…,uid=…,gid=…"


def host_volume_refusals(driver: str, options: dict[str, str]) -> dict[str, list[str]]:
    """Why a volume of `driver` with `options` could reach the host's own files, by form
    field; empty if it cannot."""
    if driver != "local":
        return {
            "driver": [
                f"Driver {driver}: only a superuser may use a driver other than local, as a "
                "volume plugin can mount whatever the host can reach."
            ]
        }
    problems = []
    for key, value in options.items():
        if key == "type" and value != "tmpfs":
            problems.append(
                f"Option type={value}: only a superuser may mount a type other than tmpfs, "
                "which mounts a host path or device (type=none with o=bind: any host folder)."
            )
        elif key == "device" and value != "tmpfs":
            problems.append(
                f"Option device={value}: only a superuser may set a device, which mounts that "
                "host path or device into the volume."
            )
        elif key == "o":
            for word in (w.strip() for w in value.split(",")):
                if word in ("bind", "rbind"):
                    problems.append(
                        f"Option o={value}: {word} mounts a folder of the host into the volume; "
                        "only a superuser may use it."
                    )
                elif not SAFE_TMPFS_OPTION.fullmatch(word):
                    problems.append(
                        f"Option o={value}: only a superuser may use the mount option "
                        f"'{word}'; others may use size, nr_inodes, mode, uid, gid, noexec, "
                        "nosuid and nodev."
                    )
        elif key not in ("type", "device", "o"):
            problems.append(
                f"Option {key}: only a superuser may set it; others may set {SAFE_VOLUME_OPTIONS}."
            )
    if options and options.get("type") != "tmpfs" and not problems:
        # Without a type, device and o still mount: o=bind device=/ binds the host's root.
        problems.append(f"Options need type=tmpfs; others may set {SAFE_VOLUME_OPTIONS}.")
    return {"options": problems} if problems else {}


class VolumeCreateForm(forms.Form):
    """`docker volume create`. Without `any_volume` (access.ANY_VOLUME), only a volume that
    cannot reach the host's own files: see host_volume_refusals."""

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
        return parse_pairs(self.cleaned_data["labels"], what="label")

    def clean_options(self) -> dict[str, str]:
        return parse_pairs(self.cleaned_data["options"], what="option")

    def clean(self) -> dict:
        data = super().clean()
        if not self.any_volume and "driver" in data:
            refusals = host_volume_refusals(data["driver"], data.get("options") or {})
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
IMAGE_REFERENCE = re.compile(
    r"^(?:[A-Za-z0-9][A-Za-z0-9.-]*(?::[0-9]+)?/)?"
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


class ImagePruneForm(forms.Form):
    """`docker image prune [-a]`: dangling images only, unless `all`."""

    all = forms.ChoiceField(required=False, choices=[("", "dangling images"), ("1", "all unused")])


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
