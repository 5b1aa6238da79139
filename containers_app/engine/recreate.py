"""Recreating a container: the same configuration on the newest image its reference names,
made from its own inspect data (as watchtower does), in an order that puts the original back
as it was if anything fails on the way.

The order: rename the original out of the way and stop it; create the replacement under its
name from its Config, HostConfig and first network, connect its other networks, start it;
only then remove the original. A failure or a cancel before the end removes the replacement,
renames the original back and starts it again: Berth never deletes the original of a
recreate that did not succeed.
"""

import copy
import dataclasses
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from containers_app import access
from containers_app.engine.client import Engine, api
from containers_app.engine.convert import short_id
from containers_app.engine.errors import Conflict, EngineError, NotFound, translated
from containers_app.engine.specs import ContainerSpec, settings_not_copied, spec_from_inspect

# The original's name while its replacement is made: <name>-berth-old-<6 hex digits>.
OLD_MARK = "-berth-old-"
# Berth's own labels (berth.team: the owning team) stay on the replacement even when its
# image has the same: the newest image the reference names may carry another team's.
OWNER_LABEL_PREFIX = access.RESERVED_LABEL_PREFIX
# Settings a container has from its image, left out of the copy when they are the image's,
# so that the newest image's own apply.
IMAGE_DEFAULTS = ("WorkingDir", "User", "StopSignal", "Shell", "OnBuild", "Healthcheck")

Say = Callable[[str], None]
Check = Callable[[], None]


@dataclass(frozen=True)
class Endpoint:
    """A network to connect the replacement to, with what its endpoint was asked for (its
    aliases, addresses, links, driver options), never what the engine gave the original."""

    name: str
    network_id: str
    settings: dict = field(hash=False)


@dataclass(frozen=True)
class CreateBody:
    """What makes the container again: the body of POST /containers/create (its Config, with
    HostConfig and the first network's NetworkingConfig), and the other networks to connect
    after creating it (the engine takes only one network at create before API 1.44)."""

    config: dict = field(hash=False)
    connect: tuple[Endpoint, ...] = ()


def _without_image_defaults(config: dict, image_config: Mapping) -> None:
    """Leaves out of `config` what the container's image gave it, as watchtower does, so that
    the newest image's own command, environment, labels... apply to the replacement."""
    for key in IMAGE_DEFAULTS:
        if key in config and config[key] == image_config.get(key):
            del config[key]
    if (config.get("Entrypoint") or []) == (image_config.get("Entrypoint") or []):
        config.pop("Entrypoint", None)
        # The image's Cmd goes with the image's entrypoint; with another entrypoint, even a
        # Cmd equal to the image's was asked for.
        if (config.get("Cmd") or []) == (image_config.get("Cmd") or []):
            config.pop("Cmd", None)
    image_env = set(image_config.get("Env") or [])
    config["Env"] = [entry for entry in config.get("Env") or [] if entry not in image_env]
    image_labels = image_config.get("Labels") or {}
    config["Labels"] = {
        key: value
        for key, value in (config.get("Labels") or {}).items()
        if image_labels.get(key) != value or key.lower().startswith(OWNER_LABEL_PREFIX)
    }
    # An owner label of the image the original did not have would hand the replacement to
    # whoever built the image: blanked, so the replacement's owner stays the original's.
    for key in image_labels:
        if key.lower().startswith(OWNER_LABEL_PREFIX):
            config["Labels"].setdefault(key, "")
    for key in ("Volumes", "ExposedPorts"):
        theirs = image_config.get(key) or {}
        config[key] = {k: v for k, v in (config.get(key) or {}).items() if k not in theirs}


def _kept_volumes(container: Mapping, host: Mapping) -> tuple[list | None, list | None]:
    """HostConfig's Binds and Mounts, with the original's anonymous volumes mounted by name
    where they were: the replacement keeps their data, as `docker compose up` does, instead
    of starting on empty volumes."""
    binds = list(host.get("Binds") or [])
    mounts = copy.deepcopy(list(host.get("Mounts") or []))
    named = {bind.split(":", 1)[0] for bind in binds} | {m.get("Source") for m in mounts}
    for mount in container.get("Mounts") or []:
        name, target = mount.get("Name"), mount.get("Destination")
        if mount.get("Type") != "volume" or not name or not target or name in named:
            continue
        unnamed = [m for m in mounts if m.get("Target") == target and not m.get("Source")]
        if unnamed:  # --mount type=volume,target=…: give that mount the volume's name
            unnamed[0]["Source"] = name
        else:  # the image's VOLUME or -v /path
            binds.append(f"{name}:{target}" + ("" if mount.get("RW", True) else ":ro"))
    return binds or None, mounts or None


def _legacy_link(link: str) -> str:
    """HostConfig.Links as inspect shows them (/db:/web/db) as create takes them (db:db)."""
    container, _, path = link.partition(":")
    return f"{container.lstrip('/')}:{path.rsplit('/', 1)[-1]}"


def _endpoint_settings(settings: Mapping, old_id: str) -> dict:
    ipam = {k: v for k, v in (settings.get("IPAMConfig") or {}).items() if v}
    # The engine gives every container its short id as an alias on user-defined networks.
    aliases = [a for a in settings.get("Aliases") or [] if a not in (short_id(old_id), old_id)]
    wanted = {
        "IPAMConfig": ipam,
        "Links": list(settings.get("Links") or []),
        "Aliases": aliases,
        "DriverOpts": dict(settings.get("DriverOpts") or {}),
    }
    return {key: value for key, value in wanted.items() if value}


def _primary_network(mode: str, networks: Mapping[str, Mapping]) -> str:
    """The network the container was created on: its NetworkMode (a name or an id)."""
    wanted = "bridge" if mode in ("", "default") else mode
    if wanted in networks:
        return wanted
    for name, settings in networks.items():
        if (settings.get("NetworkID") or "").startswith(wanted):
            return name
    return sorted(networks)[0]


def shares_a_namespace(host: Mapping) -> bool:
    mode = host.get("NetworkMode") or ""
    return mode in ("host", "none") or mode.startswith("container:")


def create_body(container: Mapping, *, image: Mapping | None, onto: str = "") -> CreateBody:
    """What creates `container` (its `docker inspect`) again: its Config with Image set to the
    reference it was created from (so the newest image of that reference), without what
    `image` (the inspect of the image it runs) gave it and without what belongs to the
    original alone (the hostname the engine named after its id); its HostConfig as it is
    (its anonymous volumes mounted by name); its first network, then the others. `onto`: a
    network that takes the place of the engine's default bridge, if it was on it."""
    config = copy.deepcopy(dict(container.get("Config") or {}))
    host = copy.deepcopy(dict(container.get("HostConfig") or {}))
    old_id = container.get("Id") or ""
    config["Image"] = config.get("Image") or container.get("Image") or ""
    if image is not None:
        _without_image_defaults(config, (image.get("Config") or {}))
    mode = host.get("NetworkMode") or ""
    if config.get("Hostname") == short_id(old_id) or shares_a_namespace(host):
        # Named by the engine after the original's id, or the host's or another container's
        # own: the engine refuses a hostname with another container's network.
        config.pop("Hostname", None)
        if mode.startswith("container:"):
            config.pop("Domainname", None)
    # Published ports are exposed too, as the CLI does for -p.
    exposed = dict(config.get("ExposedPorts") or {})
    exposed.update({port: {} for port in host.get("PortBindings") or {}})
    config["ExposedPorts"] = exposed
    host["Binds"], host["Mounts"] = _kept_volumes(container, host)
    host["Links"] = [_legacy_link(link) for link in host.get("Links") or []] or None
    body = {key: value for key, value in config.items() if value not in (None, [], {})}
    body["Image"] = config["Image"]
    body["HostConfig"] = host
    networks = (container.get("NetworkSettings") or {}).get("Networks") or {}
    if shares_a_namespace(host) or not networks:
        return CreateBody(config=body)
    primary = _primary_network(mode, networks)
    if onto and primary == DEFAULT_BRIDGE:
        networks = {name: settings for name, settings in networks.items() if name != primary}
        networks[onto] = {}
        primary = host["NetworkMode"] = onto
    body["NetworkingConfig"] = {
        "EndpointsConfig": {primary: _endpoint_settings(networks[primary], old_id)}
    }
    others = tuple(
        Endpoint(
            name=name,
            network_id=networks[name].get("NetworkID") or name,
            settings=_endpoint_settings(networks[name], old_id),
        )
        for name in sorted(networks)
        if name != primary
    )
    return CreateBody(config=body, connect=others)


def _connect_arguments(settings: Mapping) -> dict:
    """connect_container_to_network's keyword arguments for an endpoint's settings."""
    ipam = settings.get("IPAMConfig") or {}
    links = [
        (name, alias or None)
        for name, _, alias in (link.partition(":") for link in settings.get("Links") or [])
    ]
    return {
        "aliases": settings.get("Aliases") or None,
        "links": links or None,
        "ipv4_address": ipam.get("IPv4Address") or None,
        "ipv6_address": ipam.get("IPv6Address") or None,
        "link_local_ips": ipam.get("LinkLocalIPs") or None,
        "driver_opt": settings.get("DriverOpts") or None,
    }


def reaches_the_host(container: Mapping) -> tuple[str, ...]:
    """Settings of a container that give it some of the host and that a ContainerSpec does
    not hold (so rules.privileged_options cannot see them), one sentence each. A recreate
    copies them as they are: only a superuser may recreate a container that has them."""
    host = container.get("HostConfig") or {}
    reasons = [
        f"--volumes-from {source} mounts that container's volumes and host folders."
        for source in host.get("VolumesFrom") or []
    ]
    if host.get("UTSMode") == "host":
        reasons.append("--uts host shares the host's hostname, which the container may change.")
    if host.get("DeviceRequests"):
        reasons.append("--gpus gives the container the host's GPUs.")
    reasons += [
        f"--device-cgroup-rule {rule} lets the container use the host's devices."
        for rule in host.get("DeviceCgroupRules") or []
    ]
    if host.get("CgroupParent"):
        reasons.append(
            f"--cgroup-parent {host['CgroupParent']} places the container in a cgroup of the "
            "host's."
        )
    if not host.get("Privileged") and (
        host.get("MaskedPaths") == [] or host.get("ReadonlyPaths") == []
    ):
        reasons.append(
            "--security-opt systempaths=unconfined shows the container the host's /proc and "
            "/sys paths that are hidden from containers."
        )
    return tuple(reasons)


DEFAULT_BRIDGE = "bridge"


@dataclass(frozen=True)
class RecreatePlan:
    """What a recreate of one container will do, read before it starts: for the access check,
    the command line and the job."""

    id: str
    name: str
    # What the original is called while its replacement is made.
    old_name: str
    # The reference it was created from (`Config.Image`), which the replacement runs.
    image: str
    image_id: str
    # False when it was created from an image id: there is nothing to pull then.
    pullable: bool
    running: bool
    paused: bool
    auto_remove: bool
    # The networks connected after create: all but the first.
    networks: tuple[str, ...]
    # The network the replacement runs on instead of the engine's default bridge ("": none).
    onto: str
    # Containers that share its network stack (--network container:<it>): they would lose it.
    dependents: tuple[str, ...]
    spec: ContainerSpec
    not_in_spec: tuple[str, ...]
    reaches_host: tuple[str, ...]


def _image_or_none(engine: Engine, reference: str) -> dict | None:
    try:
        with translated(engine.base_url):
            return api(engine).inspect_image(reference)
    except NotFound:
        return None


def _created_from_id(config_image: str, image_id: str) -> bool:
    given = config_image.removeprefix("sha256:")
    return len(given) >= 12 and image_id.removeprefix("sha256:").startswith(given)


def _dependents(engine: Engine, container: Mapping) -> tuple[str, ...]:
    own_id, name = container.get("Id") or "", (container.get("Name") or "").lstrip("/")
    with translated(engine.base_url):
        rows = api(engine).containers(all=True)
    found = []
    for row in rows:
        mode = ((row.get("HostConfig") or {}).get("NetworkMode")) or ""
        joined = mode.removeprefix("container:") if mode.startswith("container:") else ""
        if joined and (joined == name or (len(joined) >= 12 and own_id.startswith(joined))):
            found.append(((row.get("Names") or [row["Id"][:12]])[0]).lstrip("/"))
    return tuple(sorted(found))


def _cgroupns_default(engine: Engine) -> str:
    """The cgroup namespace the engine gives a container that asks for none."""
    with translated(engine.base_url):
        version = str(api(engine).info().get("CgroupVersion") or "1")
    return "private" if version == "2" else "host"


def recreate_plan(*, engine: Engine, container_id: str, onto: str = "") -> RecreatePlan:
    """The plan of recreating a container (an id, short id or name); NotFound if none.
    `onto`: the network its replacement runs on instead of the engine's default bridge."""
    with translated(engine.base_url):
        data = api(engine).inspect_container(container_id)
    config, host, state = data.get("Config") or {}, data.get("HostConfig") or {}, data["State"]
    image = _image_or_none(engine, data["Image"])
    name = (data.get("Name") or "").lstrip("/")
    reference = config.get("Image") or data["Image"]
    body = create_body(data, image=image, onto=onto)
    spec = spec_from_inspect(data, image=image)
    if onto and spec.network in ("", DEFAULT_BRIDGE):
        spec = dataclasses.replace(spec, network=onto)
    return RecreatePlan(
        id=data["Id"],
        name=name,
        old_name=f"{name}{OLD_MARK}{secrets.token_hex(3)}",
        image=reference,
        image_id=data["Image"],
        pullable=not _created_from_id(reference, data["Image"]),
        running=bool(state.get("Running")),
        paused=bool(state.get("Paused")),
        auto_remove=bool(host.get("AutoRemove")),
        networks=tuple(endpoint.name for endpoint in body.connect),
        onto=onto,
        dependents=_dependents(engine, data),
        spec=spec,
        not_in_spec=settings_not_copied(
            data, image=image, cgroupns_default=_cgroupns_default(engine)
        ),
        reaches_host=reaches_the_host(data),
    )


@dataclass
class _Done:
    """What a recreate has done so far, which a roll-back undoes."""

    renamed: bool = False
    unpaused: bool = False
    stopped: bool = False
    new_id: str = ""


def container_recreate(*, engine: Engine, plan: RecreatePlan, say: Say, check: Check) -> str:
    """Recreates the container of `plan` (see the module's docstring) and returns the new
    container's id. `say` writes a line of output; `check` raises to stop (a cancel) and is
    called between steps. Any failure or stop after the rename rolls back and raises again,
    the reason saying what was rolled back."""
    client = api(engine)
    with translated(engine.base_url):
        data = client.inspect_container(plan.id)
        name = (data.get("Name") or "").lstrip("/")
        if name != plan.name:
            raise Conflict(
                f"{plan.name} was renamed {name} meanwhile; nothing was changed",
                engine=engine.base_url,
            )
    image = _image_or_none(engine, data["Image"])
    body = create_body(data, image=image, onto=plan.onto)
    newest = _image_or_none(engine, plan.image)
    if newest is None:
        raise NotFound(
            f"No such image: {plan.image}, the image {name} was created from; nothing was changed",
            engine=engine.base_url,
        )
    newest_id = newest["Id"]
    state = data.get("State") or {}
    running, paused = bool(state.get("Running")), bool(state.get("Paused"))
    if newest_id == data["Image"]:
        say(f"{plan.image} is the image {name} runs ({short_id(newest_id)}).")
    else:
        say(f"{plan.image} is {short_id(newest_id)}; {name} runs {short_id(data['Image'])}.")
    done = _Done()
    try:
        check()
        say(f"Renaming {name} to {plan.old_name}")
        with translated(engine.base_url):
            client.rename(plan.id, plan.old_name)
        done.renamed = True
        check()
        if paused:
            # A paused container takes no signal: it is unpaused to stop cleanly.
            say(f"Unpausing {plan.old_name}, to stop it")
            with translated(engine.base_url):
                client.unpause(plan.id)
            done.unpaused = True
        if running:
            say(f"Stopping {plan.old_name}")
            with translated(engine.base_url):
                client.stop(plan.id, timeout=(data.get("Config") or {}).get("StopTimeout"))
            done.stopped = True
        check()
        say(f"Creating {name} from {plan.old_name}'s configuration, image {plan.image}")
        with translated(engine.base_url):
            created = client.create_container_from_config(body.config, name=name)
        done.new_id = created["Id"]
        for warning in created.get("Warnings") or []:
            say(f"The engine warns: {warning}")
        for endpoint in body.connect:
            check()
            say(f"Connecting {name} to network {endpoint.name}")
            with translated(engine.base_url):
                client.connect_container_to_network(
                    done.new_id, endpoint.network_id, **_connect_arguments(endpoint.settings)
                )
        check()
        if running:
            say(f"Starting {name}")
            with translated(engine.base_url):
                client.start(done.new_id)
            check()
        else:
            say(f"{name} was not running: its replacement is created, not started")
    except EngineError as error:
        undone = _roll_back(engine, plan=plan, done=done, say=say)
        raise type(error)(f"{error.reason}; {undone}", engine=error.engine) from error
    except BaseException:
        _roll_back(engine, plan=plan, done=done, say=say)
        raise
    if paused:
        say(f"{plan.old_name} was paused; {name} runs, not paused")
    say(f"Removing {plan.old_name}")
    try:
        with translated(engine.base_url):
            # Without -v: its anonymous volumes are the replacement's now.
            client.remove_container(plan.id)
    except EngineError as error:
        raise type(error)(
            f"{name} was recreated ({short_id(done.new_id)}), but the original, "
            f"{plan.old_name}, could not be removed: {error.reason}",
            engine=error.engine,
        ) from error
    return done.new_id


def _roll_back(engine: Engine, *, plan: RecreatePlan, done: _Done, say: Say) -> str:
    """Puts the original back as it was, as far as it can; what it did, in words."""
    client = api(engine)
    said: list[str] = []

    def step(words: str, call: Callable[[], object], failed: str) -> bool:
        try:
            with translated(engine.base_url):
                call()
        except EngineError as error:
            said.append(f"{failed}: {error.reason}")
            say(f"Roll-back: {failed}: {error.reason}")
            return False
        said.append(words)
        say(f"Roll-back: {words}")
        return True

    removed = True
    if done.new_id:
        new = short_id(done.new_id)
        removed = step(
            f"removed the new container {new}",
            # Without -v: the original's anonymous volumes are mounted in it by name.
            lambda: client.remove_container(done.new_id, force=True),
            f"could not remove the new container {new}",
        )
    if done.renamed and removed:
        step(
            f"renamed {plan.old_name} back to {plan.name}",
            lambda: client.rename(plan.id, plan.name),
            f"could not rename {plan.old_name} back to {plan.name}",
        )
    if done.stopped:
        step(
            f"started {plan.name} again",
            lambda: client.start(plan.id),
            f"could not start {plan.name} again",
        )
    if done.unpaused:
        step(
            f"paused {plan.name} again",
            lambda: client.pause(plan.id),
            f"could not pause {plan.name} again",
        )
    if not said:
        return "nothing had been changed"
    return "rolled back: " + ", ".join(said)
