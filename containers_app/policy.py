"""A team's policy for the containers it runs: which images, which host ports `--publish` may
bind, the memory and CPU caps of each container, and how many containers the team may have.
Pure functions: the caller loads the team and counts its containers. A rule left blank is no
rule. Superusers are held to the policy of the team they run a container for; a container of
no team has none."""

import fnmatch
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from containers_app.cli import publish_value
from containers_app.engine.specs import ContainerSpec, format_cpus, format_size

NANO = 1_000_000_000
# An image id, which never takes a tag: `abc123…:latest` is no image.
IMAGE_ID = re.compile(r"^(sha256:)?[0-9a-f]{12,64}$")


class TeamSettings(Protocol):
    """What a team (models.Team) holds of its policy."""

    slug: str
    image_patterns: str
    port_min: int | None
    port_max: int | None
    memory_max: int | None
    cpus_max: float | None
    containers_max: int | None
    registries: str
    repositories: str


@dataclass(frozen=True)
class Policy:
    """A team's rules; None or () is no rule."""

    team: str
    image_patterns: tuple[str, ...] = ()
    port_min: int | None = None
    port_max: int | None = None
    memory_max: int | None = None
    cpus_max: float | None = None
    containers_max: int | None = None
    registries: tuple[str, ...] = ()
    repositories: tuple[str, ...] = ()

    @classmethod
    def of(cls, team: TeamSettings) -> "Policy":
        return cls(
            team=team.slug,
            image_patterns=patterns(team.image_patterns),
            port_min=team.port_min,
            port_max=team.port_max,
            memory_max=team.memory_max,
            cpus_max=team.cpus_max,
            containers_max=team.containers_max,
            registries=patterns(team.registries),
            repositories=patterns(team.repositories),
        )

    @property
    def ports_limited(self) -> bool:
        return self.port_min is not None or self.port_max is not None

    @property
    def nano_cpus_max(self) -> int | None:
        # Through Decimal, so that a cap of 1.1 is 1100000000 exactly, as --cpus 1.1 is.
        return None if self.cpus_max is None else int(Decimal(str(self.cpus_max)) * NANO)


def patterns(text: str) -> tuple[str, ...]:
    """The image patterns of a team's text: one a line, blank lines skipped."""
    return tuple(line.strip() for line in (text or "").splitlines() if line.strip())


def with_implicit_tag(reference: str) -> str:
    """`reference` as the engine reads it when it names no tag: with `:latest`. A reference
    with a tag or a digest, or an image id, is as it is."""
    if IMAGE_ID.match(reference) or "@" in reference:
        return reference
    last = reference.rsplit("/", 1)[-1]
    return reference if ":" in last else f"{reference}:latest"


@dataclass(frozen=True)
class ImageFacts:
    """What proves where the image a reference names came from: its RepoDigests (it was
    pulled from that repository) and whether the team made or brought it through Berth
    (image_origins.py). A name alone proves nothing: anyone may tag anything `nginx:x`."""

    digests: tuple[str, ...] = ()
    made_by_team: bool = False


def _repository_part(pattern: str) -> str:
    """`registry:5000/team/*:1.*` -> `registry:5000/team/*`: what a digest can prove."""
    head, slash, last = pattern.rpartition("/")
    return f"{head}{slash}{last.split(':', 1)[0].split('@', 1)[0]}"


def _without_default_registry(name: str) -> str:
    for prefix in ("docker.io/library/", "docker.io/"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def image_allowed(
    reference: str, image_patterns: Sequence[str], facts: ImageFacts | None = None
) -> bool:
    """Whether `reference` (as written, or with its implicit :latest) matches one of the
    shell-style `image_patterns` (where * matches any characters, / included), and the image
    it names is proven to be what the pattern allows: made by the team, or pulled from a
    repository the pattern names (a RepoDigest). `facts` None: an image the engine does not
    have yet, pulled by this very name from its registry. No pattern allows any image."""
    if not image_patterns:
        return True
    written = {reference, with_implicit_tag(reference)}
    matched = [p for p in image_patterns if any(fnmatch.fnmatchcase(r, p) for r in written)]
    if not matched or facts is None or facts.made_by_team:
        return bool(matched)
    pulled_from = {_without_default_registry(d.split("@", 1)[0]) for d in facts.digests}
    return any(
        fnmatch.fnmatchcase(repository, _repository_part(pattern))
        for repository in pulled_from
        for pattern in matched
    )


def port_range(policy: Policy) -> str:
    """The host ports a policy allows, in words: "8000 to 8099", "8000 and above"..."""
    if policy.port_min is not None and policy.port_max is not None:
        return f"{policy.port_min} to {policy.port_max}"
    if policy.port_min is not None:
        return f"{policy.port_min} and above"
    return f"up to {policy.port_max}"


def _in_range(port: int, policy: Policy) -> bool:
    low = policy.port_min if policy.port_min is not None else 1
    high = policy.port_max if policy.port_max is not None else 65535
    return low <= port <= high


# The run form's field each rule is about (None: the form as a whole).
IMAGE, PUBLISH, MEMORY, CPUS, COUNT = "image", "publish", "memory", "cpus", None


def refusals_by_field(
    policy: Policy | None,
    spec: ContainerSpec,
    *,
    team_containers: int,
    creating: bool,
    publish_all: bool = False,
    image: ImageFacts | None = None,
) -> list[tuple[str | None, str]]:
    """What `policy` refuses of `spec`: (the run form's field, one sentence) per broken rule.
    `team_containers`: how many containers the team has (any state); counted only when
    `creating` one more. `publish_all`: the container publishes every exposed port on a port
    the engine picks (--publish-all). `image`: what proves where spec.image came from (None:
    the engine does not have it; it is pulled by that name)."""
    if policy is None:
        return []
    team = policy.team
    found: list[tuple[str | None, str]] = []
    if not image_allowed(spec.image, policy.image_patterns):
        found.append(
            (
                IMAGE,
                f"The image {spec.image} is not one team {team} may run: its images match "
                + ", ".join(policy.image_patterns)
                + ".",
            )
        )
    elif not image_allowed(spec.image, policy.image_patterns, image):
        found.append(
            (
                IMAGE,
                f"The image {spec.image} matches team {team}'s images by its name only: run "
                "one pulled from a repository they name, or made by the team.",
            )
        )
    if policy.ports_limited:
        allowed = port_range(policy)
        for port in spec.publish:
            value = publish_value(port)
            if port.host_port is None:
                found.append(
                    (
                        PUBLISH,
                        f"-p {value} lets the engine choose the host port, which could be any: "
                        f"team {team} publishes on host ports {allowed}; write one of them.",
                    )
                )
            elif not _in_range(port.host_port, policy):
                found.append(
                    (
                        PUBLISH,
                        f"-p {value} binds host port {port.host_port}, outside team {team}'s "
                        f"host ports ({allowed}).",
                    )
                )
        if publish_all:
            found.append(
                (
                    PUBLISH,
                    "--publish-all lets the engine choose the host ports, which could be any: "
                    f"team {team} publishes on host ports {allowed} only.",
                )
            )
    if policy.memory_max is not None:
        cap = format_size(policy.memory_max)
        if not spec.memory:
            found.append(
                (
                    MEMORY,
                    f"Team {team}'s containers have a memory limit: set -m to {cap} or less.",
                )
            )
        elif spec.memory > policy.memory_max:
            found.append(
                (
                    MEMORY,
                    f"-m {format_size(spec.memory)} is above team {team}'s cap of {cap} per "
                    "container.",
                )
            )
    cpus_cap = policy.nano_cpus_max
    if cpus_cap is not None:
        cap = format_cpus(cpus_cap)
        if not spec.nano_cpus:
            found.append(
                (
                    CPUS,
                    f"Team {team}'s containers have a CPU limit: set --cpus to {cap} or less.",
                )
            )
        elif spec.nano_cpus > cpus_cap:
            found.append(
                (
                    CPUS,
                    f"--cpus {format_cpus(spec.nano_cpus)} is above team {team}'s cap of {cap} "
                    "per container.",
                )
            )
    if creating and policy.containers_max is not None and team_containers >= policy.containers_max:
        found.append(
            (
                COUNT,
                f"Team {team} has {team_containers} container{'s' * (team_containers != 1)}, "
                f"its maximum is {policy.containers_max}: remove one before running another.",
            )
        )
    return found


def refusals(
    policy: Policy | None,
    spec: ContainerSpec,
    *,
    team_containers: int,
    creating: bool,
    publish_all: bool = False,
    image: ImageFacts | None = None,
) -> list[str]:
    """One clear sentence per rule of `policy` that `spec` breaks; empty if none (or no
    policy: a container of no team). See refusals_by_field."""
    return [
        message
        for _, message in refusals_by_field(
            policy,
            spec,
            team_containers=team_containers,
            creating=creating,
            publish_all=publish_all,
            image=image,
        )
    ]


def build_caps(teams: Sequence[TeamSettings]) -> tuple[int | None, int | None]:
    """(memory in bytes, CPUs in billionths) that the RUN steps of a build for `teams` (the
    builder's teams) run within: the strictest cap among their policies, None for none."""
    rules = [Policy.of(team) for team in teams]
    memory = [r.memory_max for r in rules if r.memory_max is not None]
    cpus = [r.nano_cpus_max for r in rules if r.nano_cpus_max is not None]
    return min(memory, default=None), min(cpus, default=None)


NO_LIMITS = (
    "No limits: any image, any host port, any memory and CPUs, any number of containers, any "
    "public registry."
)


def describe(team: TeamSettings | Policy) -> list[str]:
    """The rules of a team's policy, a line each, as the run form shows them before it is
    sent (and the team's page)."""
    policy = team if isinstance(team, Policy) else Policy.of(team)
    lines = []
    if policy.image_patterns:
        lines.append("Images matching " + ", ".join(policy.image_patterns))
    if policy.ports_limited:
        lines.append(f"Published on host ports {port_range(policy)}, each port given (-p)")
    if policy.memory_max is not None:
        lines.append(f"A memory limit (-m) of at most {format_size(policy.memory_max)}")
    if policy.nano_cpus_max is not None:
        lines.append(f"A CPU limit (--cpus) of at most {format_cpus(policy.nano_cpus_max)}")
    if policy.containers_max is not None:
        lines.append(f"At most {policy.containers_max} containers, in any state")
    if policy.registries:
        lines.append("Registries " + ", ".join(policy.registries))
    if policy.repositories:
        lines.append("Image names it writes: " + ", ".join(policy.repositories))
    return lines or [NO_LIMITS]


# The settings as the team's page and its audit line name them.
SETTINGS = (
    ("images", "image_patterns"),
    ("host ports", "ports"),
    ("memory max", "memory_max"),
    ("cpus max", "cpus_max"),
    ("containers max", "containers_max"),
    ("registries", "registries"),
    ("repositories", "repositories"),
)


def _setting(policy: Policy, field: str) -> str:
    if field in ("image_patterns", "registries", "repositories"):
        return ",".join(getattr(policy, field)) or "any"
    if field == "ports":
        return port_range(policy).replace(" to ", "-") if policy.ports_limited else "any"
    if field == "memory_max":
        return format_size(policy.memory_max) if policy.memory_max is not None else "none"
    if field == "cpus_max":
        return format_cpus(policy.nano_cpus_max) if policy.nano_cpus_max is not None else "none"
    return str(policy.containers_max) if policy.containers_max is not None else "none"


def change_line(before: Policy, after: Policy) -> str:
    """The audit trail's line of a policy change: each setting changed, with what it was."""
    changed = [
        f"{name} {_setting(after, field)} (was {_setting(before, field)})"
        for name, field in SETTINGS
        if _setting(after, field) != _setting(before, field)
    ]
    return f"team policy {after.team}: " + ("; ".join(changed) or "no change")


DOCKER_HUB_HOSTS = ("index.docker.io", "registry-1.docker.io", "registry.hub.docker.com")


def _host_of(server: str) -> str:
    """`https://registry.example:5000/v2/` -> `registry.example:5000`; Docker Hub, by any of
    its names, -> `docker.io`."""
    host = server.split("://", 1)[-1].split("/", 1)[0].lower()
    return "docker.io" if host in DOCKER_HUB_HOSTS else host


def internal_address(host: str) -> bool:
    """Whether `host` ([host][:port]) names the engine's own machine or a private network:
    loopback, link-local (cloud metadata), private, unspecified or reserved addresses."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 or host.startswith("[") else host
    name = name.strip("[]")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return (
        address.is_loopback
        or address.is_link_local
        or address.is_private
        or address.is_unspecified
        or address.is_reserved
    )


def registry_refusal(policies: Sequence[Policy], server: str) -> str:
    """Why none of `policies` (the teams a user acts for) lets a pull, push or login reach the
    registry `server`; "" if one does. A policy that lists registries allows those; one that
    lists none allows any but internal addresses, which must be listed by name."""
    host = _host_of(server)
    for rules in policies:
        if rules.registries:
            if any(
                host == pattern.lower() or fnmatch.fnmatchcase(host, pattern.lower())
                for pattern in rules.registries
            ):
                return ""
        elif not internal_address(host):
            return ""
    if not policies:
        return "Only a team's admins reach registries."
    return f"The registry {host} is not one your team may reach" + (
        ": it is an address of the engine's own machine or network, which a team's policy "
        "must list by name."
        if internal_address(host)
        else "."
    )


def repository_refusal(policies: Sequence[Policy], names: Sequence[str]) -> str:
    """Why `names` may not be written (tagged, committed, built, loaded) by the teams whose
    `policies` list the repositories they write; "" if one policy allows them all."""
    for rules in policies:
        if not rules.repositories or all(image_allowed(name, rules.repositories) for name in names):
            return ""
    listed = sorted({p for rules in policies for p in rules.repositories})
    return (
        f"{', '.join(names)}: the team writes only image names matching "
        f"{', '.join(listed)} (its policy's repositories)."
    )
