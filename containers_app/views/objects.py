"""An object a view is about, fetched through access: an object the actor may not see is
answered exactly as one that does not exist (404, the engine's own words), so another team's
names do not leak; a change attempted on it is recorded as denied, without naming it."""

from django.http import HttpRequest

from containers_app import access, audit
from containers_app.engine import Engine, NotFound
from containers_app.engine import containers as engine_containers
from containers_app.engine import networks as engine_networks
from containers_app.engine import volumes as engine_volumes
from containers_app.engine.containers import ContainerDetail
from containers_app.engine.networks import Network
from containers_app.engine.volumes import Volume
from containers_app.models import Team
from containers_app.views.common import actor_of, engine_for

SAFE_METHODS = ("GET", "HEAD")


def hidden_attempt(request: HttpRequest, engine: Engine) -> None:
    """Records a change attempted on an object the actor may not see as denied, by route and
    method only (as views/common.refused does); a look (GET) is not recorded."""
    if request.method not in SAFE_METHODS and request.user.is_authenticated:
        match = request.resolver_match
        audit.denied(
            user=request.user,
            engine=engine,
            action=f"{match.view_name if match else 'unnamed route'} {request.method}",
            reason="Not one of the requester's objects.",
        )


class Hidden(NotFound):
    """An object the actor may not see: answered as NotFound, but its attempt is recorded
    already (hidden_attempt), where a missing object's is the view's to record."""


def hidden(request: HttpRequest, engine: Engine, message: str) -> Hidden:
    """The 404 for an object the actor may not see, in the engine's own words."""
    hidden_attempt(request, engine)
    return Hidden(message, engine=engine.base_url)


# What the engine answers when asked to inspect a missing object of each kind.
MISSING = {
    access.CONTAINER: "No such container: {}",
    access.NETWORK: "network {} not found",
    access.VOLUME: "get {}: no such volume",
}


def _seen(request: HttpRequest, engine: Engine, kind: str, obj, ref: str):
    target = access.target_of(kind, obj)
    if not access.allowed(actor_of(request), access.VIEW, target):
        raise hidden(request, engine, MISSING[kind].format(ref))
    return obj, target


def container_for(request: HttpRequest, ref: str) -> tuple[ContainerDetail, access.Target]:
    """The container `ref` (name or id) and its access target, if the actor may see it."""
    engine = engine_for(request)
    detail = engine_containers.container_inspect(engine=engine, container_id=ref)
    return _seen(request, engine, access.CONTAINER, detail, ref)


def network_for(request: HttpRequest, ref: str) -> tuple[Network, access.Target]:
    engine = engine_for(request)
    network = engine_networks.network_inspect(engine=engine, network_id=ref)
    return _seen(request, engine, access.NETWORK, network, ref)


def volume_for(request: HttpRequest, name: str) -> tuple[Volume, access.Target]:
    engine = engine_for(request)
    volume = engine_volumes.volume_inspect(engine=engine, name=name)
    return _seen(request, engine, access.VOLUME, volume, name)


def image_target(request: HttpRequest, image_id: str, labels=None) -> access.Target:
    """An image's access target: its labels and the owner of every container using it
    (any container of a child image included), "" for a container of no team."""
    engine = engine_for(request)
    actor = actor_of(request)
    users = engine_containers.container_list(engine=engine, ancestor=image_id)
    owners = frozenset(
        access.owner(actor, access.Target(access.CONTAINER, c.labels)) or "" for c in users
    )
    return access.Target(access.IMAGE, labels or {}, used_by=owners)


def creatable_teams(request: HttpRequest) -> dict:
    """The keyword arguments of forms.add_team_field for the request's user: the teams they
    may create objects for (a superuser: every team, and no team)."""
    actor = actor_of(request)
    if actor.superuser:
        return {"teams": list(Team.objects.values_list("slug", flat=True)), "no_team": True}
    return {"teams": access.teams_for(actor, access.ADMINISTER), "no_team": False}
