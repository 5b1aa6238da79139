"""Hides the values of secret-looking names (environment variables, NAME=value in an image's
build steps) from those who may not see them (access.SEE_SECRETS); the names stay, so a reader
still knows they are set."""

import dataclasses
import json
import re
from collections.abc import Iterable

from containers_app.engine.containers import ContainerDetail
from containers_app.engine.convert import pretty_json
from containers_app.engine.images import ImageDetail

MASK = "••••••"
# Words of names like DB_PASSWORD, API_KEY, AWS_SECRET_ACCESS_KEY, GITHUB_TOKEN. Matched
# anywhere in the name: a harmless MONKEY masked costs less than a secret shown.
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|KEY|CREDENTIAL|AUTH|PRIVATE", re.I)


def is_secret(name: str) -> bool:
    return bool(SECRET_NAME.search(name))


def masked_env(env: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """(name, value) pairs with the values of secret names replaced by MASK."""
    return tuple((name, MASK if is_secret(name) else value) for name, value in env)


def _masked_entry(entry: str) -> str:
    """One `NAME=value` of the engine's Config.Env."""
    name, equals, _ = entry.partition("=")
    return f"{name}={MASK}" if equals and is_secret(name) else entry


def _masked_raw_json(raw_json: str) -> str:
    """Inspect JSON with every NAME=value of a secret-looking name masked: Config.Env, and
    build steps such as an image's ContainerConfig.Cmd (`#(nop) ENV DB_PASSWORD=...`)."""
    if not raw_json:
        return ""

    def walk(value):
        if isinstance(value, str):
            return _masked_step(value)
        if isinstance(value, list):
            return [walk(item) for item in value]
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        return value

    # pretty_json escapes what is not ASCII: show the mask as the table does, not as \u2022.
    return pretty_json(walk(json.loads(raw_json))).replace(json.dumps(MASK)[1:-1], MASK)


def masked_container(container: ContainerDetail) -> ContainerDetail:
    """The container as someone who may not see secrets is shown it: its environment table
    and its raw inspect JSON (the same values, in Config.Env) both masked."""
    return dataclasses.replace(
        container,
        env=masked_env(container.env),
        raw_json=_masked_raw_json(container.raw_json),
    )


# NAME=value in a build step (`ENV DB_PASSWORD=x`, `RUN --token=x ...`), the value quoted or not.
ASSIGNMENT = re.compile(r"""\b([A-Za-z_][A-Za-z0-9_.-]*)=("[^"]*"|'[^']*'|\S*)""")


def _masked_step(text: str) -> str:
    """A `docker history` step with the values of secret-looking names masked."""
    return ASSIGNMENT.sub(
        lambda found: f"{found[1]}={MASK}" if is_secret(found[1]) else found[0], text
    )


def masked_image(image: ImageDetail) -> ImageDetail:
    """The image as someone who may not see secrets is shown it: the ENV it gives its
    containers, in its environment list and raw inspect JSON, and in the build steps of its
    history."""
    return dataclasses.replace(
        image,
        env=tuple(_masked_entry(entry) for entry in image.env),
        raw_json=_masked_raw_json(image.raw_json),
        history=tuple(
            dataclasses.replace(layer, created_by=_masked_step(layer.created_by))
            for layer in image.history
        ),
    )
