"""Which teams made or brought each image on each engine (commit, build, load, pull through
Berth), kept in the database by image id. It decides who sees an image's secret values and
saves it, which team an image rule trusts, and who is told that a name now points to another
team's image."""

from collections.abc import Iterable

from django.db import IntegrityError, transaction

from containers_app import access, rules
from containers_app.engine import Engine, NotFound
from containers_app.engine import containers as engine_containers
from containers_app.engine import images as engine_images
from containers_app.models import ImageOrigin
from containers_app.policy import ImageFacts

COMMIT, BUILD, LOAD, PULL = "commit", "build", "load", "pull"


def origin_record(*, engine: Engine, image_id: str, teams: Iterable[str], how: str) -> None:
    """Records that each of `teams` made or brought `image_id` on `engine` (idempotent)."""
    for team in set(teams):
        try:
            with transaction.atomic():
                ImageOrigin.objects.get_or_create(
                    engine=engine.slug, image_id=image_id, team=team, defaults={"how": how}
                )
        except IntegrityError:
            pass  # recorded by another thread meanwhile


def origin_teams(*, engine: Engine, image_id: str) -> frozenset[str]:
    """The teams recorded for `image_id` ("" for a superuser's of no team)."""
    found = ImageOrigin.objects.filter(engine=engine.slug, image_id=image_id)
    return frozenset(found.values_list("team", flat=True))


def image_facts(*, engine: Engine, reference: str, team: str) -> ImageFacts | None:
    """What proves where the image `reference` names came from (policy.ImageFacts); None if
    the engine does not have it (a run pulls it by that name first)."""
    try:
        image = engine_images.image_inspect(engine=engine, image_id=reference)
    except NotFound:
        return None
    return ImageFacts(
        digests=image.digests,
        made_by_team=team in origin_teams(engine=engine, image_id=image.id),
    )


def name_refusals(
    actor: access.Actor, engine: Engine, names: Iterable[str], *, new_image: str | None = None
) -> list[str]:
    """Why `actor` may not point each of `names` at `new_image` (rules.name_takeover), from
    one `docker ps -a` and one inspect a name."""
    names = list(names)
    if actor.superuser or not names:
        return []
    rows = engine_containers.container_list(engine=engine, all=True)
    reasons = []
    for name in names:
        try:
            points_to = engine_images.image_id_of(engine=engine, reference=name)
        except NotFound:
            points_to = None
        wanted = rules.image_name(name)
        users = [
            access.target_of(access.CONTAINER, row)
            for row in rows
            if rules.image_name(row.image) == wanted
        ]
        reason = rules.name_takeover(
            actor, name, points_to=points_to, new_image=new_image, users=users
        )
        if reason:
            reasons.append(reason)
    return reasons


def name_moved(
    *, engine: Engine, name: str, runs: str, team: str | None
) -> tuple[str, bool] | None:
    """When `name` (a container's image name) now points to another image than `runs`, the
    image it runs: a sentence saying so and who made the new one, and whether that was
    another team (or nobody Berth knows of), so a recreate onto it needs a confirmation.
    None when the name still points to `runs`, or to nothing."""
    try:
        points_to = engine_images.image_id_of(engine=engine, reference=name)
    except NotFound:
        return None
    if points_to == runs:
        return None
    made_by = origin_teams(engine=engine, image_id=points_to)
    if team is not None and team in made_by:
        maker, foreign = "your team", False
    elif made_by:
        maker, foreign = "another team", True
    else:
        maker, foreign = "nobody Berth knows of", True
    sentence = (
        f"{name} now names image {points_to.removeprefix('sha256:')[:12]}, made or brought by "
        f"{maker}, not the image {runs.removeprefix('sha256:')[:12]} this container runs."
    )
    return sentence, foreign
