"""Each team's own bridge network, which its containers run on by default: the engine's
default bridge is shared by every team's containers, which could then reach each other.
Found by its labels, made on first use (under the team's lock, so two runs make one), with a
subnet from BERTH_TEAM_NETWORK_POOL so that teams do not use up the engine's own pools."""

import dataclasses
import ipaddress

from django.conf import settings

from containers_app import access, teams
from containers_app.engine import Engine
from containers_app.engine import networks as engine_networks

# Set with berth.team on a team's own network.
TEAM_NETWORK_LABEL = "berth.team-network"
# The engine's shared default network, which only a superuser puts a team's container on.
DEFAULT_BRIDGE = "bridge"


def network_name(team: str) -> str:
    return f"berth-team-{team}"


def team_network(*, engine: Engine, team: str) -> str:
    """The name of `team`'s own network on `engine`, made if it has none yet."""
    with teams.team_locked(team):
        found = _existing(engine, team)
        if found:
            return found
        name = network_name(team)
        engine_networks.network_create(
            engine=engine,
            name=name,
            subnet=str(_free_subnet(engine)),
            labels={access.TEAM_LABEL: team, TEAM_NETWORK_LABEL: "1"},
        )
        return name


def _existing(engine: Engine, team: str) -> str:
    for network in engine_networks.network_list(engine=engine):
        labels = network.labels or {}
        if labels.get(TEAM_NETWORK_LABEL) == "1" and labels.get(access.TEAM_LABEL) == team:
            return network.name
    return ""


def _free_subnet(engine: Engine) -> ipaddress.IPv4Network:
    """The first subnet of the pool's size that no network of the engine overlaps."""
    pool = ipaddress.ip_network(settings.TEAM_NETWORK_POOL)
    taken = [
        ipaddress.ip_network(subnet, strict=False)
        for network in engine_networks.network_list(engine=engine)
        for subnet in network.subnets
    ]
    for subnet in pool.subnets(new_prefix=settings.TEAM_NETWORK_PREFIX):
        if not any(subnet.overlaps(other) for other in taken if other.version == subnet.version):
            return subnet
    raise engine_networks.PoolExhausted(
        f"Every subnet of BERTH_TEAM_NETWORK_POOL ({pool}) is in use: widen it to give this "
        "team a network of its own."
    )


def on_team_network(spec, team: str, *, engine: Engine | None = None):
    """`spec` on `team`'s own network when it names none (the engine's default bridge
    otherwise): that network made if `engine` is given, else only named (a preview)."""
    if not team or spec.network not in ("", "default"):
        return spec
    name = team_network(engine=engine, team=team) if engine else network_name(team)
    return dataclasses.replace(spec, network=name)
