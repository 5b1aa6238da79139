"""Uploaded archives handed to jobs (a build's context, a `docker save` tar to load): a
private file the job owns, since Django deletes its own temporary upload when the request
ends, long before a job in its own thread has sent it. Never read whole into memory: a saved
image may be gigabytes."""

import bz2
import io
import json
import lzma
import os
import secrets
import tarfile
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat

BLOCK = 1024 * 1024
BLOCK_IN = 64 * 1024
# A saved image's manifest lists its layers and names: a few KiB; more is no manifest.
MANIFEST_MAX = 1024 * 1024
# A Dockerfile or .dockerignore is a few lines: the engine itself refuses a larger Dockerfile.
DOCKERFILE_MAX = 1024 * 1024
PREFIX = "berth-upload-"
# What reading a tar that is not one, or is cut short, raises.
UNREADABLE = (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError)


class Unpacked(io.RawIOBase):
    """An upload read as its tar, unpacked (gzip, bzip2, xz, or none) only as far as each
    read asks: tarfile's own unpacking turns a read of 16 KiB of a gzip bomb into 16 MiB at
    once, and holds it."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        start = raw.read(6)
        raw.seek(-len(start), io.SEEK_CUR)
        self.zlib = start.startswith(b"\x1f\x8b")
        if self.zlib:
            self.unpacker = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif start.startswith(b"BZh"):
            self.unpacker = bz2.BZ2Decompressor()
        elif start.startswith(b"\xfd7zXZ\x00"):
            self.unpacker = lzma.LZMADecompressor()
        else:
            self.unpacker = None
        self.pending = b""  # read, not yet unpacked

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer)) if self.unpacker is None else self._unpack(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _unpack(self, size: int) -> bytes:
        while True:
            if self.zlib:
                data = self.unpacker.decompress(self.pending, size)
                self.pending = self.unpacker.unconsumed_tail
                needs_input = not self.pending
            else:
                data = self.unpacker.decompress(self.pending, max_length=size)
                self.pending = b""
                needs_input = self.unpacker.needs_input
            if data or self.unpacker.eof:
                return data
            if needs_input:
                self.pending = self.raw.read(BLOCK_IN)
                if not self.pending:
                    return b""


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


@contextmanager
def discarded_on_error(payload: Payload) -> Iterator[Payload]:
    """`payload`, deleted if the block raises (a refusal, an unreadable archive): only a job
    that starts takes it over."""
    try:
        yield payload
    except BaseException:
        payload.discard()
        raise


def tar_problem(upload: BinaryIO) -> str:
    """Why `upload` is not a tar (plain, or compressed with gzip, bzip2 or xz, which the
    engine takes too) with something in it; "" when it is one. Reads its first blocks only
    and rewinds it."""
    upload.seek(0)
    try:
        with tarfile.open(fileobj=Unpacked(upload), mode="r|") as archive:
            first = archive.next()
    except UNREADABLE:
        return "it is not a tar archive (a .tar, or a .tar.gz)."
    finally:
        upload.seek(0)
    if first is None:
        return "the tar archive is empty."
    return ""


def _size(count: int) -> str:
    return filesizeformat(count).replace("\xa0", " ")


def too_large(content_length: int) -> str:
    """Why a request body of `content_length` bytes is refused before it is read; "" if it
    is not."""
    if content_length > settings.UPLOAD_MAX_BYTES:
        return (
            f"The upload is {_size(content_length)}; Berth takes uploads of at most "
            f"{_size(settings.UPLOAD_MAX_BYTES)} (BERTH_UPLOAD_MAX_BYTES)."
        )
    return ""


def size_problem(upload: UploadedFile) -> str:
    """Why `upload` is too large, as sent or once unpacked (its members' sizes, read from
    their headers as a stream: no member is read, whatever the compression); "" if it is
    not. Rewinds it."""
    if problem := too_large(upload.size):
        return problem
    cap, total = settings.UPLOAD_MAX_EXPANDED_BYTES, 0
    upload.seek(0)
    try:
        with tarfile.open(fileobj=Unpacked(upload), mode="r|") as archive:
            for member in archive:
                total += member.size
                if total > cap:
                    return (
                        f"it unpacks to more than {_size(cap)}, Berth's cap for an unpacked "
                        "upload (BERTH_UPLOAD_MAX_EXPANDED_BYTES)."
                    )
    except UNREADABLE:
        return "it could not be read to its end as a tar archive."
    finally:
        upload.seek(0)
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
            tarfile.open(fileobj=Unpacked(upload), mode="r|") as source,
            tarfile.open(fileobj=target_file, mode="w|", format=tarfile.PAX_FORMAT) as target,
        ):
            ignored = b".dockerignore\n"
            for member in source:
                contents = source.extractfile(member) if member.isreg() else None
                if member.name.removeprefix("./") == ".dockerignore" and contents is not None:
                    if member.size > DOCKERFILE_MAX:
                        raise Unreadable("its .dockerignore is larger than 1 MiB")
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


def dockerfile_in(payload: Payload, name: str) -> str:
    """The text of the Dockerfile `name` in a build context, read as a stream (no other
    member is read); "" when it has none, which the engine then refuses."""
    wanted = name.removeprefix("./")
    with payload.open() as body:
        try:
            with tarfile.open(fileobj=Unpacked(body), mode="r|") as archive:
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
            with tarfile.open(fileobj=Unpacked(body), mode="r|") as archive:
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
