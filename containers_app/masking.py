"""Hides the values of secret-looking environment variables from those who may not see them
(access.SEE_SECRETS); the names stay, so a reader still knows they are set."""

import dataclasses
import json
import re
from collections.abc import Iterable

from containers_app.engine.containers import ContainerDetail
from containers_app.engine.convert import pretty_json

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


def masked_container(container: ContainerDetail) -> ContainerDetail:
    """The container as someone who may not see secrets is shown it: its environment table
    and its raw inspect JSON (the same values, in Config.Env) both masked."""
    data = json.loads(container.raw_json) if container.raw_json else {}
    config = data.get("Config") or {}
    if config.get("Env"):
        config["Env"] = [_masked_entry(entry) for entry in config["Env"]]
    # pretty_json escapes what is not ASCII: show the mask as the table does, not as \u2022.
    raw_json = pretty_json(data).replace(json.dumps(MASK)[1:-1], MASK)
    return dataclasses.replace(
        container, env=masked_env(container.env), raw_json=raw_json if container.raw_json else ""
    )
