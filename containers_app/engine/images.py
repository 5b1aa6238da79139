"""Images: `docker images`, `docker image inspect`, `docker history`, `docker rmi`,
`docker tag`, `docker image prune`, `docker save`; and the long ones, whose progress comes as
a stream of messages: `docker pull`, `docker push`, `docker build` and `docker load`."""

import base64
import json
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from containers_app.engine import raw
from containers_app.engine.client import Engine, api
from containers_app.engine.convert import from_rfc3339, from_unix, labels_of, pretty_json, short_id
from containers_app.engine.errors import NotFound, translated

NONE_TAG = "<none>:<none>"


@dataclass(frozen=True)
class ImageSummary:
    """One image of `docker images`, with every tag it has and the containers using it."""

    id: str
    tags: tuple[str, ...]
    digests: tuple[str, ...]
    created: datetime | None
    size: int
    labels: dict[str, str] = field(hash=False)
    containers: tuple[str, ...] = ()

    @property
    def short_id(self) -> str:
        return short_id(self.id)

    @property
    def dangling(self) -> bool:
        return not self.tags

    @property
    def reference(self) -> str:
        """What `docker rmi` is given for this row: its only tag, or its id."""
        return self.tags[0] if len(self.tags) == 1 else self.short_id


@dataclass(frozen=True)
class HistoryLayer:
    id: str
    created: datetime | None
    created_by: str
    size: int
    comment: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class ImageDetail:
    id: str
    tags: tuple[str, ...]
    digests: tuple[str, ...]
    created: datetime | None
    size: int
    architecture: str
    os: str
    author: str
    comment: str
    entrypoint: tuple[str, ...]
    command: tuple[str, ...]
    working_dir: str
    user: str
    env: tuple[str, ...]
    exposed_ports: tuple[str, ...]
    labels: dict[str, str] = field(hash=False)
    history: tuple[HistoryLayer, ...] = ()
    containers: tuple[str, ...] = ()
    raw_json: str = ""

    @property
    def short_id(self) -> str:
        return short_id(self.id)


def _users_by_image(engine: Engine) -> dict[str, list[str]]:
    """Container names per image id, from one `docker ps -a` call."""
    users: dict[str, list[str]] = {}
    with translated(engine.base_url):
        rows = api(engine).containers(all=True)
    for row in rows:
        name = (row.get("Names") or ["/?"])[0].lstrip("/")
        users.setdefault(row.get("ImageID", ""), []).append(name)
    return users


def _tags(tags: Sequence[str] | None) -> tuple[str, ...]:
    return tuple(sorted(t for t in tags or () if t != NONE_TAG))


def image_list(*, engine: Engine, dangling: bool = False) -> list[ImageSummary]:
    """`docker images` (one list call, plus one `docker ps -a` for "in use by"), newest first."""
    filters = {"dangling": ["true"]} if dangling else {}
    with translated(engine.base_url):
        rows = api(engine).images(filters=filters)
    users = _users_by_image(engine)
    images = [
        ImageSummary(
            id=row["Id"],
            tags=_tags(row.get("RepoTags")),
            digests=tuple(d for d in row.get("RepoDigests") or () if not d.startswith("<none>")),
            created=from_unix(row.get("Created")),
            size=int(row.get("Size") or 0),
            labels=labels_of(row.get("Labels")),
            containers=tuple(sorted(users.get(row["Id"], ()))),
        )
        for row in rows
    ]
    return sorted(images, key=lambda i: i.created.timestamp() if i.created else 0, reverse=True)


def image_inspect(*, engine: Engine, image_id: str) -> ImageDetail:
    """`docker image inspect` and `docker history` of one image."""
    with translated(engine.base_url):
        data = api(engine).inspect_image(image_id)
        history = api(engine).history(data["Id"])
    config = data.get("Config") or {}
    users = _users_by_image(engine)
    return ImageDetail(
        id=data["Id"],
        tags=_tags(data.get("RepoTags")),
        digests=tuple(data.get("RepoDigests") or ()),
        created=from_rfc3339(data.get("Created")),
        size=int(data.get("Size") or 0),
        architecture=data.get("Architecture", ""),
        os=data.get("Os", ""),
        author=data.get("Author", ""),
        comment=data.get("Comment", ""),
        entrypoint=tuple(config.get("Entrypoint") or ()),
        command=tuple(config.get("Cmd") or ()),
        working_dir=config.get("WorkingDir") or "",
        user=config.get("User") or "",
        env=tuple(config.get("Env") or ()),
        exposed_ports=tuple(sorted(config.get("ExposedPorts") or {})),
        labels=labels_of(config.get("Labels")),
        history=tuple(
            HistoryLayer(
                id=layer.get("Id", ""),
                created=from_unix(layer.get("Created")),
                created_by=layer.get("CreatedBy", ""),
                size=int(layer.get("Size") or 0),
                comment=layer.get("Comment", ""),
                tags=_tags(layer.get("Tags")),
            )
            for layer in history
        ),
        containers=tuple(sorted(users.get(data["Id"], ()))),
        raw_json=pretty_json(data),
    )


def image_id_of(*, engine: Engine, reference: str) -> str:
    """The full id of the image `reference` names, as the engine resolves it."""
    with translated(engine.base_url):
        return api(engine).inspect_image(reference)["Id"]


def image_triggers(*, engine: Engine, reference: str) -> tuple[str, ...] | None:
    """The ONBUILD triggers of the image `reference` names; None if the engine has no such
    image."""
    try:
        with translated(engine.base_url):
            data = api(engine).inspect_image(reference)
    except NotFound:
        return None
    return tuple((data.get("Config") or {}).get("OnBuild") or ())


def image_has_tag(*, engine: Engine, image_id: str, tag: str) -> bool:
    """Whether `tag` names the image `image_id` (full or short), so an untag cannot reach
    another image."""
    with translated(engine.base_url):
        data = api(engine).inspect_image(tag)
    return data["Id"].removeprefix("sha256:").startswith(image_id.removeprefix("sha256:"))


def image_remove(*, engine: Engine, reference: str, force: bool = False) -> list[str]:
    """`docker rmi [-f] <reference>`: what the engine untagged and deleted, in its words."""
    with translated(engine.base_url):
        result = api(engine).remove_image(reference, force=force)
    return [f"{k}: {v}" for item in result or () for k, v in item.items()]


def image_tag(*, engine: Engine, image_id: str, repository: str, tag: str) -> None:
    """`docker tag <image> <repository>:<tag>`; a tag another image has moves to this one."""
    with translated(engine.base_url):
        api(engine).tag(image_id, repository, tag)


@dataclass(frozen=True)
class PruneResult:
    """What `docker image prune` removed, in the engine's words, and the space it freed."""

    removed: tuple[str, ...]
    reclaimed: int


def image_prune(*, engine: Engine, all: bool = False) -> PruneResult:
    """`docker image prune [-a]`: dangling images, or every image no container uses."""
    with translated(engine.base_url):
        result = api(engine).prune_images(filters={"dangling": False} if all else None)
    removed = tuple(
        f"{kind}: {ref}" for item in result.get("ImagesDeleted") or () for kind, ref in item.items()
    )
    return PruneResult(removed=removed, reclaimed=int(result.get("SpaceReclaimed") or 0))


def image_save(*, engine: Engine, image_id: str) -> raw.RawStream:
    """`docker save <tags>`: the open tar stream of the image, to be read block by block
    (an image may be gigabytes: never whole in memory) and closed by the reader. Saved by
    its id and its tags, so that `docker load` brings it back tagged; by its id alone, as
    `docker save <id>` does, the tar would hold no tag."""
    with translated(engine.base_url):
        data = api(engine).inspect_image(image_id)
    names = [data["Id"], *_tags(data.get("RepoTags"))]
    return raw.open_stream(engine, "/images/get", {"names": names}, timeout=engine.timeout)


def image_exists(*, engine: Engine, reference: str) -> bool:
    """Whether the engine has an image by this name, tag or id."""
    try:
        with translated(engine.base_url):
            api(engine).inspect_image(reference)
    except NotFound:
        return False
    return True


def _auth_header(auth: Mapping[str, str] | None) -> dict[str, str]:
    """X-Registry-Auth, as the CLI sends it: base64url of the login's JSON. Given per request,
    never stored in the shared client, where every other user's pull would use it."""
    if not auth:
        return {}
    return {"X-Registry-Auth": base64.urlsafe_b64encode(json.dumps(dict(auth)).encode()).decode()}


def image_pull(
    *, engine: Engine, repository: str, tag: str, auth: Mapping[str, str] | None = None
) -> raw.Messages:
    """`docker pull repository:tag` (or `repository@digest` when `tag` is a digest): its
    progress messages, as the engine sends them, until the pull ends or is closed."""
    params = {"fromImage": repository, "tag": tag}
    return raw.Messages(raw.open_post(engine, "/images/create", params, headers=_auth_header(auth)))


def image_push(
    *, engine: Engine, repository: str, tag: str, auth: Mapping[str, str] | None = None
) -> raw.Messages:
    """`docker push repository:tag`: its progress messages. The engine wants a header even
    for a registry without login."""
    headers = _auth_header(auth) or {"X-Registry-Auth": base64.urlsafe_b64encode(b"{}").decode()}
    return raw.Messages(
        raw.open_post(engine, f"/images/{repository}/push", {"tag": tag}, headers=headers)
    )


CPU_PERIOD = 100_000  # microseconds, the kernel's default CFS period
NANO = 1_000_000_000


@dataclass(frozen=True)
class BuildSpec:
    """`docker build` options that go with a context (a tar, gzip allowed)."""

    tags: tuple[str, ...] = ()
    build_args: dict[str, str] = field(default_factory=dict, hash=False)
    target: str = ""
    no_cache: bool = False
    pull: bool = False
    dockerfile: str = "Dockerfile"
    # The containers of a failed step removed too: nobody would find them in a dashboard.
    force_rm: bool = True
    # Caps of each RUN step's container (a team's policy): bytes, and CPUs in billionths.
    memory: int | None = None
    nano_cpus: int | None = None
    # The network RUN steps run on (a team's own); "" for the engine's default bridge.
    network: str = ""


def image_build(
    *,
    engine: Engine,
    spec: BuildSpec,
    context: BinaryIO,
    size: int,
    auth: Mapping[str, Mapping[str, str]] | None = None,
    on_connect: Callable[[socket.socket], None] | None = None,
) -> raw.Messages:
    """`docker build`: the context is sent as it is read; the answer is the build's output.
    `auth`: logins by registry, for the images its FROM lines pull. `on_connect`: see
    raw._request (a cancel during the upload)."""
    params: dict[str, object] = {
        "t": list(spec.tags) or None,
        "buildargs": json.dumps(spec.build_args) if spec.build_args else None,
        "target": spec.target or None,
        "nocache": "1" if spec.no_cache else None,
        "pull": "1" if spec.pull else None,
        "dockerfile": spec.dockerfile,
        "rm": "1",
        "forcerm": "1" if spec.force_rm else None,
    }
    if spec.network:
        params["networkmode"] = spec.network
    if spec.memory:
        params |= {"memory": spec.memory, "memswap": spec.memory}  # no swap beyond it
    if spec.nano_cpus:
        # The builder takes CFS quotas, not --cpus: quota / period = CPUs.
        params |= {"cpuperiod": CPU_PERIOD, "cpuquota": spec.nano_cpus * CPU_PERIOD // NANO}
    headers = {"Content-Type": "application/x-tar"}
    if auth:
        encoded = base64.urlsafe_b64encode(
            json.dumps({k: dict(v) for k, v in auth.items()}).encode()
        )
        headers["X-Registry-Config"] = encoded.decode()
    return raw.Messages(
        raw.open_post(
            engine,
            "/build",
            params,
            headers=headers,
            body=context,
            size=size,
            on_connect=on_connect,
        )
    )


def image_load(
    *,
    engine: Engine,
    tar: BinaryIO,
    size: int,
    on_connect: Callable[[socket.socket], None] | None = None,
) -> raw.Messages:
    """`docker load`: the tar is sent as it is read; the answer says what was loaded."""
    headers = {"Content-Type": "application/x-tar"}
    return raw.Messages(
        raw.open_post(
            engine,
            "/images/load",
            {"quiet": "0"},
            headers=headers,
            body=tar,
            size=size,
            on_connect=on_connect,
        )
    )
