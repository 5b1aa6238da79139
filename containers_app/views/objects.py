"""The object a view is about, found through find.py: an object the actor may not see is
answered exactly as one that does not exist (404, the engine's own words), so another team's
names do not leak; a change attempted on it is recorded as denied, without naming it."""

import dataclasses

from django.http import HttpRequest

from containers_app import access, actions, audit, find
from containers_app.engine import Engine, NotFound
from containers_app.engine import containers as engine_containers
from containers_app.find import Found, Hidden
from containers_app.models import Team
from containers_app.views.common import actor_of, engine_for, route_name

SAFE_METHODS = ("GET", "HEAD")


def hidden_attempt(request: HttpRequest, engine: Engine) -> None:
    """Records a change attempted on an object the actor may not see as denied, by route and
    method only (as views/common.refused does); a look (GET) is not recorded."""
    if request.method not in SAFE_METHODS and request.user.is_authenticated:
        audit.denied(
            user=request.user,
            engine=engine,
            action=f"{route_name(request)} {request.method}",
            reason="Not one of the requester's objects.",
        )


def found(request: HttpRequest, kind: str, ref: str, *, light: bool = False) -> Found:
    """The one object of `kind` that `ref` names (find.find_visible), if the actor may see
    it; else a 404 in the engine's own words, a change attempted on another team's object
    recorded as denied first."""
    engine = engine_for(request)
    try:
        return find.find_visible(actor_of(request), engine, kind, ref, light=light)
    except Hidden:
        hidden_attempt(request, engine)
        raise


def found_to_change(
    request: HttpRequest, kind: str, ref: str, *, action: str, command: str = ""
) -> Found:
    """found, for a change: a missing object's attempt is recorded as failed too, with the
    `command` it would have been."""
    try:
        return found(request, kind, ref)
    except Hidden:
        raise
    except NotFound as error:
        engine = engine_for(request)
        actions.missing(
            request, engine=engine, action=action, ref=ref, command=command, error=error
        )
        raise


def image_with_users(request: HttpRequest, image: Found) -> Found:
    """`image` with the owner of every container using it (any container of a child image
    included, "" for a container of no team) in its target, which decides who may remove it."""
    actor = actor_of(request)
    users = engine_containers.container_list(engine=image.engine, ancestor=image.id)
    owners = frozenset(
        access.owner(actor, access.Target(access.CONTAINER, c.labels)) or "" for c in users
    )
    return dataclasses.replace(image, target=dataclasses.replace(image.target, used_by=owners))


def creatable_teams(request: HttpRequest) -> dict:
    """The keyword arguments of forms.add_team_field for the request's user: the teams they
    may create objects for (a superuser: every team, and no team)."""
    actor = actor_of(request)
    if actor.superuser:
        return {"teams": list(Team.objects.values_list("slug", flat=True)), "no_team": True}
    return {"teams": access.teams_for(actor, access.ADMINISTER), "no_team": False}
