"""What a team may point at and reach, pure: no database or engine calls here. The caller
gathers the facts (which containers use a name, which teams made an image) and asks.

Image names: a container is made again (recreate, a compose redeploy) from the name it was
created from, so a name that another team's container uses is that team's: pointing it at
another image would run that image with their environment.
"""

from collections.abc import Iterable

from containers_app import access

DEFAULT_REGISTRY_PREFIXES = ("docker.io/library/", "index.docker.io/library/", "docker.io/")


def image_name(reference: str) -> str:
    """`reference` as the engine files it, so two spellings of one name compare equal:
    without Docker Hub's default prefixes, with `:latest` when it names no tag."""
    name = reference.strip()
    for prefix in DEFAULT_REGISTRY_PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    if "@" in name:
        return name
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else f"{name}:latest"


def name_takeover(
    actor: access.Actor,
    name: str,
    *,
    points_to: str | None,
    new_image: str | None,
    users: Iterable[access.Target],
) -> str | None:
    """Why `actor` may not point `name` at `new_image` (None: an image not made yet, a
    build's or a commit's), or None if they may. `points_to`: the image the name names now
    (None: a free name); `users`: the containers created from that name. Only a superuser
    moves a name that a container of another team, or of no team, was created from."""
    if actor.superuser or points_to is None or (new_image is not None and new_image == points_to):
        return None
    own = set(access.teams_for(actor, access.ADMINISTER))
    others = {access.owner(actor, user) or "" for user in users} - own
    if not others:
        return None
    whose = "another team" if others - {""} else "no team"
    return (
        f"{name} is the image name of a container of {whose}: only a superuser may point it "
        "at another image, which that container would be made again from."
    )


# Labels only Berth (berth.*) or Docker Compose (com.docker.compose.*) set: a container made
# from an image carrying them would be claimed by a team or a compose project.
RESERVED_LABEL_PREFIXES = (access.RESERVED_LABEL_PREFIX, "com.docker.compose.")


def reserved_label_keys(keys: Iterable[str]) -> list[str]:
    return [key for key in keys if key.lower().startswith(RESERVED_LABEL_PREFIXES)]


def build_refusals(
    actor: access.Actor,
    *,
    labels: Iterable[str],
    remote_sources: Iterable[str],
    bases_missing: Iterable[str],
    bases_with_triggers: Iterable[str],
) -> list[str]:
    """Why `actor` may not build a Dockerfile that sets `labels`, ADDs `remote_sources`, and
    whose FROM images are `bases_missing` (not on the engine) or `bases_with_triggers`
    (ONBUILD). The engine fetches ADD's URLs and a missing base itself, from the host's own
    network, where no build network applies; only a superuser builds such a Dockerfile."""
    if actor.superuser:
        return []
    reasons = [
        f"LABEL {key} is set by Berth or Docker Compose only: it would claim the containers "
        "made from the image."
        for key in reserved_label_keys(labels)
    ]
    reasons += [
        f"ADD {source} is fetched by the engine from the host's own network: download it "
        "into the build context instead."
        for source in remote_sources
    ]
    reasons += [
        f"FROM {image}: the engine does not have it; pull it first (Images, Pull), so that "
        "what it runs at build time can be checked."
        for image in bases_missing
    ]
    reasons += [
        f"FROM {image}: it has ONBUILD triggers, which would run in this build unchecked."
        for image in bases_with_triggers
    ]
    return reasons


def recreate_refusal(actor: access.Actor, name: str, not_in_spec: Iterable[str]) -> str | None:
    """Why `actor` may not recreate container `name`, made with `not_in_spec`: settings the
    run form cannot set (engine.specs.settings_not_copied), which a recreate copies as they
    are, unchecked by the rules a run is held to. Only a superuser recreates such a container;
    the extra networks it is connected to (`--network`) are checked as a run's are."""
    if actor.superuser:
        return None
    unchecked = [flag for flag in not_in_spec if not flag.startswith("--network ")]
    if not unchecked:
        return None
    return (
        f"Only a superuser may recreate {name}: it was made with {', '.join(unchecked)}, which "
        "the run form cannot set."
    )
