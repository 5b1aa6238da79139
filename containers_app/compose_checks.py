"""Whether a compose application's files may be deployed, and by whom: checked in this
order, each on what the one before let through. The YAML as written (nothing compose would
read from Berth's own host: rules.compose_host_reads), compose's own reading (`config`), then
every service of the normalized configuration as a `docker run` is judged (container_checks,
rules, the team's policy, the container maximum counting every replica, and the registries
and names of the images compose would pull)."""

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from containers_app import (
    access,
    compose_files,
    container_checks,
    credentials,
    image_origins,
    policy,
    rules,
    teams,
)
from containers_app.engine import Engine, compose
from containers_app.engine import images as engine_images
from containers_app.models import Application, ProjectAssignment, Team


class Refused(Exception):
    """The files may not be deployed by this actor: `reasons`, one sentence each."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(" ".join(reasons))
        self.reasons = reasons


class Invalid(Exception):
    """The files cannot be read (by Berth or by compose): `reason` in their words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Checked:
    """Files that passed every check: compose's normalized configuration and Berth's
    override for them."""

    config: dict
    override: str


def name_refusal(engine: Engine, name: str) -> str:
    """Why `name` is not free for a new application on `engine`: another application,
    a project handed to a team, or containers, networks or volumes of that compose project
    (whoever's: deploying would recreate or remove them); "" if it is free."""
    if Application.objects.filter(engine=engine.slug, name=name).exists():
        return f"An application named {name} is on this engine already."
    if ProjectAssignment.objects.filter(engine=engine.slug, project=name).exists():
        return (
            f"The compose project {name} is handed to a team on this engine: choose another name."
        )
    used = compose.project_objects(engine=engine, project=name)
    if used:
        what = ", ".join(f"{count} {kind}" for kind, count in used.items())
        return (
            f"The compose project name {name} is used on this engine already ({what}): "
            "deploying it would recreate or remove them. Choose another name."
        )
    return ""


def check_files(
    actor: access.Actor,
    engine: Engine,
    *,
    name: str,
    team: str,
    compose_text: str,
    env_text: str,
    project_directory: str = "",
    own_containers: int = 0,
    pulling_all: bool = False,
    pinned: Mapping[str, str] | None = None,
) -> Checked:
    """The files' configuration and override if `actor` may deploy them for `team` as
    application `name` on `engine`; raises Invalid or Refused. `own_containers`: how many
    containers the application has now (a redeploy replaces them, so they do not count
    against the team's maximum). `pulling_all`: every image is pulled (`pull`), not only
    those the engine does not have (`up`). `pinned`: services run on these image ids (a
    rollback's), in Berth's override."""
    files = compose.Files(compose_text, env_text)
    try:
        document = compose_files.parse(compose_text)
    except compose_files.Unreadable as error:
        said = _in_composes_words(name, files) if error.syntax else ""
        raise Invalid(said or error.reason) from error
    privileged = access.allowed(actor, access.RUN_PRIVILEGED)
    if not privileged and (reads := rules.compose_host_reads(document)):
        raise Refused(reads)
    try:
        config = compose.config(name, files, project_directory=project_directory)
    except compose.ComposeInvalid as error:
        raise Invalid(error.reason) from error
    if not config.get("services"):
        raise Invalid("The compose file has no services.")
    reasons = [] if privileged else _reach_refusals(actor, engine, config, team)
    reasons += _policy_refusals(actor, engine, config, team, own_containers)
    if not actor.superuser:
        reasons += _pull_refusals(actor, engine, config, team, pulling_all=pulling_all)
    if reasons:
        raise Refused(reasons)
    return Checked(config, compose_files.override(config, team, pinned=pinned))


def _in_composes_words(name: str, files: compose.Files) -> str:
    """What compose says of files Berth could not read, if asking it cannot make it read a
    file of the host: none of the keys that do (include, extends, env_file, label_file,
    file:) is written in them, nor spelled some other way (an escape, a tag). "" if compose
    reads them, or may not be asked."""
    text = files.compose
    if any(word in text for word in ("include", "extends", "file", "\\", "!")):
        return ""
    try:
        compose.config(name, files)
    except compose.ComposeInvalid as error:
        return error.reason
    return ""


def _labelled(spec, team: str):
    """`spec` as the container will be made: with the team's label (Berth's override)."""
    return dataclasses.replace(spec, label=(*spec.label, (access.TEAM_LABEL, team)))


def _reach_refusals(actor: access.Actor, engine: Engine, config: Mapping, team: str) -> list:
    volume_names = compose_files.volume_names(config)
    network_names = compose_files.network_names(config)
    reasons = []
    for kind in ("networks", "volumes"):
        for key, value in (config.get(kind) or {}).items():
            reasons += rules.compose_object_refusals(kind, key, value or {})
    joined: set[str] = set()
    spec = None
    for name, service in config["services"].items():
        reasons += rules.compose_service_refusals(name, service)
        spec = _labelled(compose_files.service_spec(service, volume_names), team)
        found = container_checks.run_refusals(actor, engine, spec)
        reasons += [f"Service {name}: {reason}" for reason in found]
        joined |= {network_names.get(n, n) for n in service.get("networks") or {}}
    reasons += rules.compose_network_refusals(sorted(joined))
    # Every service is the team's: the networks they join are asked about once.
    if spec is not None:
        reasons += container_checks.network_refusals(actor, engine, spec, sorted(joined))
    return list(dict.fromkeys(reasons))  # a volume two services mount is said once


def _policy_refusals(
    actor: access.Actor, engine: Engine, config: Mapping, team: str, own_containers: int
) -> list[str]:
    found = Team.objects.filter(slug=team).first() if team else None
    if found is None:
        return []
    volume_names = compose_files.volume_names(config)
    reasons = []
    for name, service in config["services"].items():
        spec = _labelled(compose_files.service_spec(service, volume_names), team)
        broken = container_checks.policy_refusals(actor, engine, team, spec, creating=False)
        reasons += [f"Service {name}: {message}" for _, message in broken]
    if found.containers_max is not None:
        wanted = sum(compose_files.replicas(s) for s in config["services"].values())
        have = container_checks.count_of(actor, engine, team) - own_containers
        if have + wanted > found.containers_max:
            reasons.append(
                f"Team {team} has {have} other container{'s' * (have != 1)} and the "
                f"application makes {wanted} (replicas counted): its maximum is "
                f"{found.containers_max}."
            )
    return list(dict.fromkeys(reasons))


# Pull policies with which `up` pulls an image the engine has.
PULLED_ANYWAY = ("always", "daily", "weekly")


def _pull_refusals(
    actor: access.Actor, engine: Engine, config: Mapping, team: str, *, pulling_all: bool
) -> list[str]:
    """Why the images compose would pull may not be: a registry the team's policy does not
    let it reach, or a name another team's container was made from, which a pull would
    point at another image (rules.name_takeover)."""
    pulled = set()
    present: dict[str, bool] = {}
    for service in config["services"].values():
        image = service.get("image") or ""
        pull_policy = str(service.get("pull_policy") or "missing")
        if image and image not in present:
            present[image] = engine_images.image_exists(engine=engine, reference=image)
        if image and (pulling_all or pull_policy.startswith(PULLED_ANYWAY) or not present[image]):
            pulled.add(image)
    policies = teams.policies_of([team])
    reasons = []
    for image in sorted(pulled):
        server = credentials.server_of(image)
        if refused := policy.registry_refusal(policies, server):
            reasons.append(f"Image {image}: {refused}")
    return reasons + image_origins.name_refusals(actor, engine, sorted(pulled))
