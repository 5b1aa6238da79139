"""Uploaded archives handed to jobs (a build's context, a `docker save` tar to load): a
private file the job owns, since Django deletes its own temporary upload when the request
ends, long before a job in its own thread has sent it. Never read whole into memory: a saved
image may be gigabytes."""

import io
import json
import lzma
import os
import secrets
import tarfile
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

BLOCK = 1024 * 1024
PREFIX = "berth-upload-"
# What reading a tar that is not one, or is cut short, raises.
UNREADABLE = (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError)


class Unreadable(Exception):
    """An uploaded archive that turned out unreadable past its start."""


@dataclass(frozen=True)
class Payload:
    """A request body a job sends: a private file (mode 0600) that `discard` deletes, or a
    few bytes made in memory."""

    size: int
    path: Path | None = None
    data: bytes = b""

    def open(self) -> BinaryIO:
        return self.path.open("rb") if self.path else io.BytesIO(self.data)

    def discard(self) -> None:
        if self.path:
            self.path.unlink(missing_ok=True)


def tar_problem(upload: BinaryIO) -> str:
    """Why `upload` is not a tar (plain, or compressed with gzip, bzip2 or xz, which the
    engine takes too) with something in it; "" when it is one. Reads its first blocks only
    and rewinds it."""
    upload.seek(0)
    try:
        with tarfile.open(fileobj=upload, mode="r|*") as archive:
            first = archive.next()
    except UNREADABLE:
        return "it is not a tar archive (a .tar, or a .tar.gz)."
    finally:
        upload.seek(0)
    if first is None:
        return "the tar archive is empty."
    return ""


def _private_file() -> tuple[int, Path]:
    # Where Django puts its own temporary uploads, so that taking one is a rename.
    folder = settings.FILE_UPLOAD_TEMP_DIR or tempfile.gettempdir()
    descriptor, name = tempfile.mkstemp(prefix=PREFIX, suffix=".tar", dir=folder)  # 0600
    return descriptor, Path(name)


def taken(upload: UploadedFile) -> Payload:
    """The upload as a private file of its own: Django's temporary file renamed, or the
    upload (a small one Django kept in memory, or one on another file system) copied block
    by block."""
    descriptor, path = _private_file()
    try:
        with os.fdopen(descriptor, "wb") as target:
            if not _renamed(upload, path):
                for chunk in upload.chunks(BLOCK):
                    target.write(chunk)
        path.chmod(0o600)
        return Payload(size=path.stat().st_size, path=path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _renamed(upload: UploadedFile, path: Path) -> bool:
    """Whether Django's temporary file of `upload` could be renamed to `path` (Django's
    own clean-up allows for it being gone)."""
    if not hasattr(upload, "temporary_file_path"):
        return False
    try:
        Path(upload.temporary_file_path()).replace(path)
    except OSError:  # on another file system
        return False
    return True


def _member(name: str, data: bytes) -> tuple[tarfile.TarInfo, BinaryIO]:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
    return info, io.BytesIO(data)


def dockerfile_context(dockerfile: str) -> Payload:
    """A build context holding only the Dockerfile typed: a small tar, made in memory."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        archive.addfile(*_member("Dockerfile", dockerfile.encode()))
    return Payload(size=buffer.tell(), data=buffer.getvalue())


def context_with_dockerfile(upload: BinaryIO, dockerfile: str) -> tuple[Payload, str]:
    """The uploaded context with the typed Dockerfile added, as `docker build -f - <dir>`
    does: under a name of its own (`.dockerfile.<random>`, which no file of the context can
    have, so none is replaced), listed in .dockerignore so `COPY .` leaves it out. Returns
    the new context, a private file written member by member, and the Dockerfile's name.
    Raises Unreadable if the upload turns out unreadable."""
    name = f".dockerfile.{secrets.token_hex(10)}"
    descriptor, path = _private_file()
    try:
        with (
            os.fdopen(descriptor, "wb") as target_file,
            tarfile.open(fileobj=upload, mode="r|*") as source,
            tarfile.open(fileobj=target_file, mode="w|", format=tarfile.PAX_FORMAT) as target,
        ):
            ignored = b".dockerignore\n"
            for member in source:
                contents = source.extractfile(member) if member.isreg() else None
                if member.name.removeprefix("./") == ".dockerignore" and contents is not None:
                    ignored = contents.read()  # a few lines of patterns
                    continue
                target.addfile(member, contents)
            ignored = ignored.rstrip(b"\n") + f"\n{name}\n".encode()
            target.addfile(*_member(".dockerignore", ignored))
            target.addfile(*_member(name, dockerfile.encode()))
        return Payload(size=path.stat().st_size, path=path), name
    except UNREADABLE as error:
        path.unlink(missing_ok=True)
        raise Unreadable(f"the context could not be read to the end: {error}") from error
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def build_context(*, upload: UploadedFile | None, dockerfile: str) -> tuple[Payload, str]:
    """What a build sends, and the name of its Dockerfile in it: the typed Dockerfile alone,
    the uploaded context, or the context with the typed Dockerfile added."""
    if upload and dockerfile:
        return context_with_dockerfile(upload, dockerfile)
    if upload:
        return taken(upload), "Dockerfile"
    return dockerfile_context(dockerfile), "Dockerfile"


# A saved image's manifest lists its layers and names: a few KiB; more is no manifest.
MANIFEST_MAX = 1024 * 1024
# The engine itself refuses a Dockerfile above this size.
DOCKERFILE_MAX = 1024 * 1024


def dockerfile_in(payload: Payload, name: str) -> str:
    """The text of the Dockerfile `name` in a build context, read as a stream (no other
    member is read); "" when it has none, which the engine then refuses."""
    wanted = name.removeprefix("./")
    with payload.open() as body:
        try:
            with tarfile.open(fileobj=body, mode="r|*") as archive:
                for member in archive:
                    if member.name.removeprefix("./") != wanted or not member.isfile():
                        continue
                    if member.size > DOCKERFILE_MAX:
                        raise Unreadable(f"its {name} is larger than 1 MiB")
                    return archive.extractfile(member).read().decode("utf-8", "replace")
        except UNREADABLE as error:
            raise Unreadable("it is not a tar archive") from error
    return ""


def image_names(payload: Payload) -> list[str]:
    """The names a `docker save` tar would give its images when loaded: RepoTags of its
    manifest.json, or the names of its older `repositories` file. Read as a stream, member by
    member, before the engine gets the tar: no member but those two is read, and neither
    beyond MANIFEST_MAX."""
    names: list[str] = []
    with payload.open() as body:
        try:
            with tarfile.open(fileobj=body, mode="r|*") as archive:
                for member in archive:
                    if member.name not in ("manifest.json", "repositories"):
                        continue
                    if not member.isfile() or member.size > MANIFEST_MAX:
                        raise Unreadable(f"its {member.name} is not a manifest")
                    names += _names_in(member.name, archive.extractfile(member).read())
        except UNREADABLE as error:
            raise Unreadable("it is not a tar archive as docker save writes one") from error
    return list(dict.fromkeys(names))


def _names_in(member: str, text: bytes) -> list[str]:
    try:
        found = json.loads(text)
    except ValueError as error:
        raise Unreadable(f"its {member} is not JSON") from error
    if member == "manifest.json" and isinstance(found, list):
        return [
            str(tag)
            for image in found
            if isinstance(image, dict)
            for tag in image.get("RepoTags") or ()
        ]
    if member == "repositories" and isinstance(found, dict):
        return [
            f"{repository}:{tag}"
            for repository, tags in found.items()
            if isinstance(tags, dict)
            for tag in tags
        ]
    raise Unreadable(f"its {member} is not a manifest")
