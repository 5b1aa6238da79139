"""Networks: `docker network ls`, `create`, `inspect` and `rm`."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import docker.types

from containers_app.engine.client import Engine, api
from containers_app.engine.convert import from_rfc3339, labels_of, pretty_json, short_id
from containers_app.engine.errors import InvalidRequest, translated

BUILTIN = ("bridge", "host", "none")


@dataclass(frozen=True)
class Endpoint:
    container_id: str
    name: str
    ipv4_address: str
    ipv6_address: str
    mac_address: str


@dataclass(frozen=True)
class Network:
    id: str
    name: str
    driver: str
    scope: str
    created: datetime | None
    internal: bool
    attachable: bool
    ipv6: bool
    subnets: tuple[str, ...]
    gateways: tuple[str, ...]
    labels: dict[str, str] = field(hash=False)
    options: dict[str, str] = field(hash=False, default_factory=dict)
    containers: tuple[Endpoint, ...] = ()
    container_count: int = 0
    raw_json: str = ""

    @property
    def short_id(self) -> str:
        return short_id(self.id)

    @property
    def builtin(self) -> bool:
        return self.name in BUILTIN


def _network(data: dict, *, counts: Mapping[str, int] | None = None) -> Network:
    configs = (data.get("IPAM") or {}).get("Config") or []
    endpoints = tuple(
        Endpoint(
            container_id=container_id,
            name=e.get("Name", ""),
            ipv4_address=e.get("IPv4Address", ""),
            ipv6_address=e.get("IPv6Address", ""),
            mac_address=e.get("MacAddress", ""),
        )
        for container_id, e in sorted(
            (data.get("Containers") or {}).items(), key=lambda i: i[1].get("Name", "")
        )
    )
    return Network(
        id=data["Id"],
        name=data.get("Name", ""),
        driver=data.get("Driver", ""),
        scope=data.get("Scope", ""),
        created=from_rfc3339(data.get("Created")),
        internal=bool(data.get("Internal")),
        attachable=bool(data.get("Attachable")),
        ipv6=bool(data.get("EnableIPv6")),
        subnets=tuple(c["Subnet"] for c in configs if c.get("Subnet")),
        gateways=tuple(c["Gateway"] for c in configs if c.get("Gateway")),
        labels=labels_of(data.get("Labels")),
        options=labels_of(data.get("Options")),
        containers=endpoints,
        container_count=(counts or {}).get(data["Id"], len(endpoints)),
        raw_json=pretty_json(data),
    )


class PoolExhausted(InvalidRequest):
    """No subnet of a pool Berth gives out is free."""


def network_list(*, engine: Engine) -> list[Network]:
    """`docker network ls` in one call, with attached-container counts from one `docker ps -a`."""
    with translated(engine.base_url):
        rows = api(engine).networks()
        containers = api(engine).containers(all=True)
    counts: dict[str, int] = {}
    # A container never started has no NetworkID yet, only the network's name as its key.
    ids_by_name = {row.get("Name", ""): row["Id"] for row in rows}
    for row in containers:
        for name, attached in ((row.get("NetworkSettings") or {}).get("Networks") or {}).items():
            network_id = attached.get("NetworkID") or ids_by_name.get(name, "")
            counts[network_id] = counts.get(network_id, 0) + 1
    return sorted((_network(row, counts=counts) for row in rows), key=lambda n: n.name)


def network_inspect(*, engine: Engine, network_id: str) -> Network:
    """`docker network inspect`, with the containers attached."""
    with translated(engine.base_url):
        return _network(api(engine).inspect_network(network_id))


def network_create(
    *,
    engine: Engine,
    name: str,
    driver: str = "bridge",
    subnet: str = "",
    gateway: str = "",
    internal: bool = False,
    attachable: bool = False,
    labels: Mapping[str, str] | None = None,
) -> str:
    """`docker network create`; returns the new network's id."""
    ipam = None
    if subnet:
        pool = docker.types.IPAMPool(subnet=subnet, gateway=gateway or None)
        ipam = docker.types.IPAMConfig(pool_configs=[pool])
    with translated(engine.base_url):
        result = api(engine).create_network(
            name,
            driver=driver,
            ipam=ipam,
            internal=internal,
            attachable=attachable,
            labels=dict(labels or {}),
            check_duplicate=True,
        )
    return result["Id"]


def network_remove(*, engine: Engine, network_id: str) -> None:
    """`docker network rm`."""
    with translated(engine.base_url):
        api(engine).remove_network(network_id)
