"""The files of a compose project found on an engine, for a superuser to adopt it: pasted,
or read on the local engine's host where its containers' labels say they are. Labels can be
set by anyone: a file is read only inside a folder settings.COMPOSE_IMPORT_DIRS allows, never
inside Berth's data folder, and only a regular file of a sane size."""

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from containers_app.compose_checks import Invalid
from containers_app.compose_files import MAX_ENV_BYTES, MAX_YAML_BYTES
from containers_app.engine import Engine, compose

CONFIG_FILES_LABEL = "com.docker.compose.project.config_files"
WORKING_DIR_LABEL = "com.docker.compose.project.working_dir"


@dataclass(frozen=True)
class AdoptedFiles:
    compose: str
    env: str = ""
    project_directory: str = ""


def adopted_files(
    engine: Engine, name: str, labels: Mapping[str, str], given: Mapping
) -> AdoptedFiles:
    """The files of a found project to adopt: those pasted (`given` compose and env), or
    those its containers' labels name, read on the local engine's host from the folders
    BERTH_COMPOSE_IMPORT_DIRS allows. Checked by compose either way (Invalid if not)."""
    if given.get("import_files"):
        files = import_files(engine, labels)
    else:
        files = AdoptedFiles(given["compose"].replace("\r\n", "\n"), given.get("env") or "")
    try:
        compose.config(
            name,
            compose.Files(files.compose, files.env),
            project_directory=files.project_directory,
        )
    except compose.ComposeInvalid as error:
        raise Invalid(error.reason) from error
    return files


def import_files(engine: Engine, labels: Mapping[str, str]) -> AdoptedFiles:
    """The compose file and .env its containers' labels name (config_files, working_dir).
    Labels can be set by anyone: a file is read only on the local engine's host, if it is
    a regular file inside a folder of settings.COMPOSE_IMPORT_DIRS, not inside Berth's data
    folder, and small enough."""
    if engine.slug != settings.BERTH_DEFAULT_ENGINE:
        raise Invalid("Files are imported only from the local engine's host: paste them.")
    allowed = [os.path.realpath(folder) for folder in settings.COMPOSE_IMPORT_DIRS]
    if not allowed:
        raise Invalid(
            "No folder is allowed for imports (BERTH_COMPOSE_IMPORT_DIRS): paste the files."
        )
    named = [f for f in labels.get(CONFIG_FILES_LABEL, "").split(",") if f]
    folder = labels.get(WORKING_DIR_LABEL, "")
    if len(named) != 1 or not folder:
        raise Invalid(
            f"Its labels name {len(named)} compose files: only a project of one file is "
            "imported; paste the output of docker compose config instead."
        )
    folder = _allowed_path(folder, allowed, what="Its working folder")
    compose_text = _read_allowed(named[0], allowed, MAX_YAML_BYTES)
    env_path = Path(folder) / ".env"
    env_text = _read_allowed(str(env_path), allowed, MAX_ENV_BYTES) if env_path.exists() else ""
    return AdoptedFiles(compose_text, env_text, folder)


def _allowed_path(path: str, allowed: list[str], *, what: str) -> str:
    real = os.path.realpath(path)
    data = os.path.realpath(settings.DATA_DIR)
    inside = any(os.path.commonpath([real, folder]) == folder for folder in allowed)
    if not inside or os.path.commonpath([real, data]) == data:
        raise Invalid(
            f"{what} {path} is not inside a folder BERTH_COMPOSE_IMPORT_DIRS allows: paste "
            "the files instead."
        )
    return real


def _read_allowed(path: str, allowed: list[str], cap: int) -> str:
    real = _allowed_path(path, allowed, what="The file")
    try:
        descriptor = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        raise Invalid(f"The file {path} cannot be read: {error.strerror}.") from error
    with os.fdopen(descriptor, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            raise Invalid(f"{path} is not a regular file.")
        data = file.read(cap + 1)
    if len(data) > cap:
        raise Invalid(f"{path} is larger than {cap // 1024} KiB.")
    return data.decode("utf-8", "replace")
