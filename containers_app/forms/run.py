"""`docker run`: its form, cleaned to a ContainerSpec, and the parsers of its flags' lines."""

import dataclasses
import ipaddress
import re
import shlex
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from containers_app import access, cli
from containers_app.engine.specs import (
    ContainerSpec,
    DeviceMapping,
    MountSpec,
    PortBinding,
    VolumeBind,
    format_cpus,
    format_size,
)
from containers_app.forms.common import (
    FULL_ID,
    IMAGE_REFERENCE,
    MIN_MEMORY,
    OBJECT_NAME,
    _lines,
    chosen_team,
    parse_env,
    parse_labels,
    parse_size,
)

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
