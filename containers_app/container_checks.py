"""What a container about to be made (run, recreate, a compose service) may reach and what
its team's policy refuses of it: the facts gathered from the engine, then asked of rules.py and
policy.py."""

from containers_app import (
    access,
    actors,
    engines,
    health,
    image_origins,
    policy,
    rules,
    team_networks,
)
from containers_app.engine import Engine, NotFound
from containers_app.engine import containers as engine_containers
from containers_app.engine import networks as engine_networks
from containers_app.engine import volumes as engine_volumes
from containers_app.engine.specs import ContainerSpec, named_volumes
from containers_app.engine.volumes import Volume
from containers_app.models import Team


def _existing_volumes(engine: Engine, spec: ContainerSpec) -> list[Volume]:
    """The named volumes `spec` mounts that exist (the engine makes the others)."""
    found = []
    for name in named_volumes(spec):
        try:
            found.append(engine_volumes.volume_inspect(engine=engine, name=name))
        except NotFound:
            continue
    return found


def _host_volumes(volumes: list[Volume]) -> dict[str, str]:
    """Those of `volumes` that are a folder or device of the host (a superuser made them with
    the local driver's bind options, or another driver), with what they are."""
    found = {}
    for volume in volumes:
        if rules.host_volume_refusals(volume.driver, volume.options):
            options = ",".join(f"{key}={value}" for key, value in volume.options.items())
            found[volume.name] = f"a {volume.driver} volume" + (
                f" with the options {options}" if options else ""
            )
    return found


def _others_objects(
    actor: access.Actor, engine: Engine, spec: ContainerSpec, volumes: list[Volume]
) -> list[str]:
    """Why `spec` may not use the volumes and network it names: those of another team (or of
    none), which would hand the new container another team's data or network. The team is
    the container's own, from the labels it is made with."""
    team = access.owner(actor, access.Target(access.CONTAINER, dict(spec.label)))
    reasons = [
        f"The volume {volume.name} is not one of the team's volumes: a container mounts only "
        "its own team's."
        for volume in volumes
        if access.owner(actor, access.target_of(access.VOLUME, volume)) != team
    ]
    return reasons + network_refusals(actor, engine, spec, [spec.network])


def network_refusals(
    actor: access.Actor, engine: Engine, spec: ContainerSpec, names: list[str]
) -> list[str]:
    """Why a container of `spec` may not join the networks `names`: those of another team
    (or of none). container:<name> is a superuser's option (rules.privileged_options); the
    engine's own networks (bridge, host, none) are everyone's."""
    team = access.owner(actor, access.Target(access.CONTAINER, dict(spec.label)))
    reasons = []
    for name in names:
        if not name or name.startswith("container:"):
            continue
        try:
            network = engine_networks.network_inspect(engine=engine, network_id=name)
        except NotFound:
            continue  # the engine says so when it is run
        target = access.target_of(access.NETWORK, network)
        if team and network.name == team_networks.DEFAULT_BRIDGE:
            reasons.append(
                "The engine's default bridge network is shared by every team's containers: "
                "only a superuser puts a team's container on it. Leave the network empty for "
                "the team's own."
            )
        elif not target.host_default and access.owner(actor, target) != team:
            reasons.append(
                f"The network {name} is not one of the team's networks: a container joins "
                "only its own team's."
            )
    return reasons


def run_refusals(actor: access.Actor, engine: Engine, spec: ContainerSpec) -> list[str]:
    """Why this user may not run `spec`: its options that reach the host, and the volumes
    and network of another team it names; or nothing."""
    if access.allowed(actor, access.RUN_PRIVILEGED):
        return []
    volumes = _existing_volumes(engine, spec)
    return rules.privileged_options(spec, host_volumes=_host_volumes(volumes)) + _others_objects(
        actor, engine, spec, volumes
    )


def count_of(actor: access.Actor, engine: Engine, team: str) -> int:
    """The team's containers on `engine` and on every other engine it may use: its policy's
    maximum holds across them (an engine known to be down is not waited for)."""
    return sum(
        team_containers_on(other, team, actor if other == engine else None)
        for other in engines.usable_by_team(team, including=engine)
        if other == engine or health.of(other).state != health.DOWN
    )


def team_containers_on(engine: Engine, team: str, actor: access.Actor | None) -> int:
    """How many containers `team` owns on `engine` (its compose projects there included)."""
    owner_of = actor or access.Actor(name="", projects=actors.assigned_projects(engine))
    return sum(
        1
        for row in engine_containers.container_list(engine=engine, all=True)
        if access.owner(owner_of, access.Target(access.CONTAINER, row.labels)) == team
    )


def policy_refusals(
    actor: access.Actor,
    engine: Engine,
    team: str | None,
    spec: ContainerSpec,
    *,
    creating: bool,
    publish_all: bool = False,
) -> list[tuple[str | None, str]]:
    """What the policy of `team` (None or "": no team, no policy) refuses of `spec`, as
    (run form field, sentence) pairs. Superusers are held to it as anyone is."""
    found = Team.objects.filter(slug=team).first() if team else None
    if found is None:
        return []
    rules = policy.Policy.of(found)
    counted = creating and rules.containers_max is not None
    return policy.refusals_by_field(
        rules,
        spec,
        team_containers=count_of(actor, engine, found.slug) if counted else 0,
        creating=creating,
        publish_all=publish_all,
        image=image_origins.image_facts(engine=engine, reference=spec.image, team=found.slug)
        if rules.image_patterns
        else None,
    )
