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
# Words of names like DB_PASSWORD, DB_PASS, API_KEY, AWS_SECRET_ACCESS_KEY, GITHUB_TOKEN,
# SENTRY_DSN, TLS_CERT. Matched anywhere in the name: a harmless MONKEY masked costs less than
# a secret shown.
SECRET_NAME = re.compile(
    r"PASS|PWD|SECRET|TOKEN|KEY|CREDENTIAL|AUTH|PRIVATE|DSN|CERT|SALT|SESSION", re.I
)
# The password of a URL (postgres://user:password@host/db), whatever its variable is called.
URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:)([^\s@/]+)(@)")


def is_secret(name: str) -> bool:
    return bool(SECRET_NAME.search(name))


def masked_value(name: str, value: str, *, everything: bool = False) -> str:
    """`value` as one who may not see it is shown it: MASK for a secret-looking `name` (for
    any name if `everything`), else with any URL's password masked."""
    if everything or is_secret(name):
        return MASK
    return URL_PASSWORD.sub(lambda found: f"{found[1]}{MASK}{found[3]}", value)


def masked_env(
    env: Iterable[tuple[str, str]], *, everything: bool = False
) -> tuple[tuple[str, str], ...]:
    """(name, value) pairs with the values of secret names (or of all) masked."""
    return tuple((name, masked_value(name, value, everything=everything)) for name, value in env)


def masked_env_text(text: str) -> str:
    """An application's .env text with every value masked (comments and names kept): its
    values are its admins' to see, whatever they are called."""
    lines = []
    for line in text.splitlines():
        name, equals, _ = line.partition("=")
        kept = not equals or line.lstrip().startswith("#")
        lines.append(line if kept else f"{name}={MASK}")
    return "\n".join(lines)


def _masked_entry(entry: str, *, everything: bool = False) -> str:
    """One `NAME=value` of the engine's Config.Env."""
    name, equals, value = entry.partition("=")
    if not equals:
        return entry
    return f"{name}={masked_value(name, value, everything=everything)}"


def _masked_raw_json(raw_json: str, *, everything: bool = False) -> str:
    """Inspect JSON with every NAME=value of a secret-looking name (or every one) masked:
    Config.Env, and build steps such as ContainerConfig.Cmd (`#(nop) ENV DB_PASSWORD=...`)."""
    if not raw_json:
        return ""

    def walk(value):
        if isinstance(value, str):
            return _masked_step(value, everything=everything)
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


def _masked_step(text: str, *, everything: bool = False) -> str:
    """A `docker history` step with the values of secret-looking names (or of every
    NAME=value: ENV, ARG, build-args) masked, and any URL's password."""

    def one(found: re.Match) -> str:
        name, value = found[1], found[2]
        return f"{name}={masked_value(name, value, everything=everything)}"

    return URL_PASSWORD.sub(lambda found: f"{found[1]}{MASK}{found[3]}", ASSIGNMENT.sub(one, text))


def masked_image(image: ImageDetail, *, everything: bool = False) -> ImageDetail:
    """The image as someone who may not see secrets is shown it: the ENV it gives its
    containers, in its environment list and raw inspect JSON, and in the build steps of its
    history. `everything`: another team's image, whose every value is theirs to see."""
    return dataclasses.replace(
        image,
        env=tuple(_masked_entry(entry, everything=everything) for entry in image.env),
        raw_json=_masked_raw_json(image.raw_json, everything=everything),
        history=tuple(
            dataclasses.replace(
                layer, created_by=_masked_step(layer.created_by, everything=everything)
            )
            for layer in image.history
        ),
    )
