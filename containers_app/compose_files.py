"""A compose application's files as Berth reads them, pure: the user's YAML parsed strictly
(before compose sees it: compose reads `include` and `extends` files from Berth's host even
when asked only for the configuration), each service of compose's normalized configuration
as the ContainerSpec the rules judge, and the override file through which Berth labels every
service, network and volume with the team.
"""

import json
from collections.abc import Mapping
from typing import Any

import yaml

from containers_app import access
from containers_app.engine.specs import (
    ContainerSpec,
    DeviceMapping,
    MountSpec,
    PortBinding,
    VolumeBind,
)

# Compose's own tags (compose-spec "merge"): the tagged value counts as it is.
COMPOSE_TAGS = ("!reset", "!override")
MAX_YAML_BYTES = 256 * 1024
MAX_ENV_BYTES = 64 * 1024
# Values a compose file may hold once its aliases are expanded.
MAX_EXPANDED_NODES = 200_000


class Unreadable(ValueError):
    """The YAML cannot be read: `reason` says why and where. `syntax`: YAML's own rules
    refuse it (compose would too, in words of its own), not a limit of Berth's."""

    def __init__(self, reason: str, *, syntax: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.syntax = syntax


class _StrictLoader(yaml.SafeLoader):
    """YAML as compose's parser takes it: a key given twice in one mapping is refused
    (PyYAML would keep the last one, which compose refuses: the two must never disagree on
    what a file says)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            # The mapping's own keys, before `<<` merges are flattened in: a key of its own
            # overrides a merged one, as YAML (and compose) says.
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, str | int | float | bool) and key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"the key {key!r} is given twice", key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _untagged(loader: _StrictLoader, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


for _tag in COMPOSE_TAGS:
    _StrictLoader.add_multi_constructor(_tag, _untagged)


def parse(text: str) -> dict:
    """The compose file as a mapping. Raises Unreadable with the line at fault, or when its
    anchors and aliases expand it beyond MAX_EXPANDED_NODES (a "billion laughs": compose
    itself would spend minutes and gigabytes expanding it)."""
    if len(text.encode()) > MAX_YAML_BYTES:
        raise Unreadable(f"The compose file is larger than {MAX_YAML_BYTES // 1024} KiB.")
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None and _expanded_size(node, {}) > MAX_EXPANDED_NODES:
            raise Unreadable(
                f"The compose file's anchors and aliases expand it to more than "
                f"{MAX_EXPANDED_NODES:,} values."
            )
        document = loader.construct_document(node) if node is not None else None
    except RecursionError as error:
        raise Unreadable("The compose file is nested too deeply to be read.") from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise Unreadable(
            f"The compose file cannot be read: {where}{problem}.", syntax=True
        ) from error
    finally:
        loader.dispose()
    if not isinstance(document, dict):
        raise Unreadable("The compose file must be one YAML mapping (services: …).")
    return document


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many values `node` holds once every alias is expanded; each node is counted once
    however often it is aliased (sizes, by node), so a small file is measured fast."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    sizes[id(node)] = 1  # a node that holds itself (a recursive alias) counts once here
    if isinstance(node, yaml.MappingNode):
        total = 1 + sum(_expanded_size(k, sizes) + _expanded_size(v, sizes) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        total = 1 + sum(_expanded_size(item, sizes) for item in node.value)
    else:
        total = 1
    sizes[id(node)] = total
    return total


# --- compose's normalized configuration, service by service --------------------------------


def _words(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(str(word) for word in value)


def _ports(service: Mapping) -> tuple[PortBinding, ...]:
    bindings = []
    for port in service.get("ports") or []:
        published = str(port.get("published") or "")
        bindings.append(
            PortBinding(
                container_port=int(port.get("target") or 0),
                protocol=port.get("protocol") or "tcp",
                host_ip=port.get("host_ip") or "",
                # A range ("8000-8010") is judged by its first port; compose publishes each.
                host_port=int(published.split("-")[0]) if published else None,
            )
        )
    return tuple(bindings)


def _volumes(service: Mapping, volume_names: Mapping[str, str]) -> tuple[tuple, tuple]:
    """(binds, mounts): host folders as `-v /host:/target`, named volumes by the engine's
    name of them (project_volume), tmpfs as --mount."""
    binds, mounts = [], []
    for volume in service.get("volumes") or []:
        kind, source, target = volume.get("type"), volume.get("source") or "", volume["target"]
        if kind == "bind":
            binds.append(VolumeBind(source=source, target=target))
        elif kind == "volume":
            binds.append(VolumeBind(source=volume_names.get(source, source), target=target))
        else:
            mounts.append(MountSpec(type=kind or "volume", target=target, source=source))
    return tuple(binds), tuple(mounts)


def _devices(service: Mapping) -> tuple[DeviceMapping, ...]:
    found = []
    for device in service.get("devices") or []:
        if isinstance(device, str):
            host, _, target = device.partition(":")
            found.append(DeviceMapping(host_path=host, container_path=target or host))
        else:
            source = device.get("source") or ""
            found.append(DeviceMapping(host_path=source, container_path=device.get("target", "")))
    return tuple(found)


def _memory(service: Mapping) -> int:
    limits = ((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}
    return int(limits.get("memory") or service.get("mem_limit") or 0)


def _nano_cpus(service: Mapping) -> int:
    limits = ((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}
    cpus = limits.get("cpus") or service.get("cpus") or 0
    return int(float(cpus) * 1_000_000_000)


def _network_mode(service: Mapping) -> str:
    mode = service.get("network_mode") or ""
    # Another service of the same application: its network stack is the application's own.
    return "" if mode.startswith("service:") else mode


def _namespace(service: Mapping, key: str) -> str:
    mode = str(service.get(key) or "")
    return "" if mode.startswith("service:") else mode


def replicas(service: Mapping) -> int:
    """How many containers compose makes of `service`."""
    deploy = service.get("deploy") or {}
    count = deploy.get("replicas")
    if count is None:
        count = service.get("scale")
    return 1 if count is None else int(count)


def service_spec(service: Mapping, volume_names: Mapping[str, str]) -> ContainerSpec:
    """What `docker run` would be asked for one container of `service` (from compose's
    normalized configuration), for the rules and the policy that judge a run."""
    binds, mounts = _volumes(service, volume_names)
    labels = service.get("labels") or {}
    return ContainerSpec(
        image=service.get("image") or "",
        command=_words(service.get("command")),
        env=tuple(f"{k}={v}" for k, v in (service.get("environment") or {}).items()),
        publish=_ports(service),
        volume=binds,
        mount=mounts,
        network=_network_mode(service),
        label=tuple(sorted((str(k), str(v)) for k, v in labels.items())),
        user=str(service.get("user") or ""),
        memory=_memory(service),
        nano_cpus=_nano_cpus(service),
        privileged=bool(service.get("privileged")),
        cap_add=_words(service.get("cap_add")),
        device=_devices(service),
        pid=_namespace(service, "pid"),
        ipc=_namespace(service, "ipc"),
        userns=str(service.get("userns_mode") or ""),
        security_opt=_words(service.get("security_opt")),
    )


def volume_names(config: Mapping) -> dict[str, str]:
    """Each volume of the configuration (its key) with the engine's name of it."""
    return {key: (v or {}).get("name") or key for key, v in (config.get("volumes") or {}).items()}


def network_names(config: Mapping) -> dict[str, str]:
    return {key: (n or {}).get("name") or key for key, n in (config.get("networks") or {}).items()}


def override(config: Mapping, team: str, *, pinned: Mapping[str, str] | None = None) -> str:
    """Berth's override file: the team's label (if it has one) on every service and on every
    network and volume the application makes (not on external ones, which compose does not
    make), and each service of `pinned` on the image id given (a rollback runs what it ran
    then); "" when there is nothing to override."""
    label = {access.TEAM_LABEL: team} if team else None
    services: dict[str, dict] = {}
    for name in config.get("services") or {}:
        service = {"labels": label} if label else {}
        if pinned and name in pinned:
            service["image"] = pinned[name]
        if service:
            services[name] = service
    document: dict[str, dict] = {"services": services} if services else {}
    for kind in ("networks", "volumes") if label else ():
        made = {
            key: {"labels": label}
            for key, value in (config.get(kind) or {}).items()
            if not (value or {}).get("external")
        }
        if made:
            document[kind] = made
    return json.dumps(document, indent=2) if document else ""  # JSON is YAML
