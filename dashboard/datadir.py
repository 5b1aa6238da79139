"""The data folder (database, secret keys, collected static files), private to Berth's user."""

import base64
import os
import secrets
import stat
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

# Session keys live in the database and the signing key beside it: nobody but the user Berth
# runs as may read either, so neither the folder nor anything made in it is group- or
# world-readable, from the first moment.
PRIVATE_UMASK = 0o077
FOLDER_MODE = 0o700
FILE_MODE = 0o600
SECRET_KEY_FILE = "secret_key"
CREDENTIALS_KEY_FILE = "credentials_key"
# How long a second process starting at the same moment waits for the first to write the key.
SECRET_KEY_WAIT_SECONDS = 5.0


def restrict_umask() -> None:
    """Everything this process creates from now on is its owner's alone."""
    os.umask(PRIVATE_UMASK)


def prepare(folder: Path) -> None:
    """Makes the data folder, or tightens one an older install left readable to others.

    One scandir walk with lstat and a chmod only where the mode is wrong: a few milliseconds for
    the collected static files. Symbolic links are left alone, never followed: a link could
    point anywhere on the host.
    """
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    _tighten(folder, FOLDER_MODE)
    pending = [folder]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    _tighten(Path(entry.path), FOLDER_MODE)
                    pending.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    _tighten(Path(entry.path), FILE_MODE)


def _tighten(path: Path, mode: int) -> None:
    if stat.S_IMODE(path.lstat().st_mode) == mode:
        return
    try:
        path.chmod(mode)
    except PermissionError:
        # Another user's file (a collectstatic run as root, say): say so rather than not start.
        warnings.warn(f"cannot make {path} private (mode {mode:o}): not its owner", stacklevel=2)


def secret_key(folder: Path) -> str:
    """The signing key kept in the data folder, generated on first start."""
    return private_key(folder / SECRET_KEY_FILE, lambda: secrets.token_urlsafe(50))


def credentials_key(folder: Path) -> str:
    """The key registry passwords are encrypted with (containers_app/credentials.py), kept in
    the data folder beside the database but not in it: a copy of the database alone reveals
    no password. A Fernet key: 32 random bytes in url-safe base64."""
    return private_key(
        folder / CREDENTIALS_KEY_FILE, lambda: base64.urlsafe_b64encode(os.urandom(32)).decode()
    )


def private_key(path: Path, generate: Callable[[], str]) -> str:
    """The key in `path`, made with `generate` if there is none yet.

    The file is created 0600 by the call that creates it (O_EXCL), so there is no moment it is
    readable to others. Of two processes starting at once one creates it; the other finds it
    there and reads it once the first has written it.
    """
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return _read_key(path)
    key = generate()
    with os.fdopen(descriptor, "w") as file:
        file.write(key)
    return key


def _read_key(path: Path) -> str:
    deadline = time.monotonic() + SECRET_KEY_WAIT_SECONDS
    while True:
        key = path.read_text().strip()
        if key or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if not key:
        raise ImproperlyConfigured(f"{path} is empty; delete it and Berth makes a new one")
    return key
