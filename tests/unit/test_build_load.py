"""`docker build` and `docker load` without an engine: their command lines, their forms,
and the archives a job is handed (uploads.py)."""

import gzip
import io
import os
import shlex
import stat
import tarfile
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile

from containers_app import cli, uploads
from containers_app.forms import ImageBuildForm, ImageLoadForm, parse_build_args, parse_tags
from containers_app.masking import MASK


def tar_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
        return {m.name: archive.extractfile(m).read() for m in archive if m.isreg()}


def upload(data: bytes, name: str = "context.tar") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/x-tar")


# --- command lines -----------------------------------------------------------------------


def test_a_typed_dockerfile_alone_builds_from_stdin_without_a_context():
    line = cli.image_build(tags=["app:1", "app:latest"], target="final", no_cache=True, pull=True)

    assert (
        line == "docker build -t app:1 -t app:latest --target final --no-cache --pull --force-rm "
        "- < Dockerfile"
    )


def test_an_uploaded_context_alone_is_read_from_stdin_by_its_name():
    line = cli.image_build(
        tags=["app:1"], context="my context.tar.gz", dockerfile=False, force_rm=False
    )

    assert line == "docker build -t app:1 - < 'my context.tar.gz'"


def test_a_typed_dockerfile_with_a_context_is_read_from_stdin_with_the_unpacked_folder():
    line = cli.image_build(context="context.tar", dockerfile=True)

    assert line == "docker build --force-rm -f - . < Dockerfile"


def test_build_args_are_quoted_and_secret_looking_values_masked():
    line = cli.image_build(
        build_args={"VERSION": "1 2", "DB_PASSWORD": "hunter2", "API_TOKEN": "t"},
    )

    assert "hunter2" not in line
    assert shlex.split(line.removesuffix(" < Dockerfile")) == [
        *("docker", "build", "--build-arg", "VERSION=1 2"),
        *("--build-arg", f"DB_PASSWORD={MASK}", "--build-arg", f"API_TOKEN={MASK}"),
        *("--force-rm", "-"),
    ]


def test_build_args_are_shown_whole_when_asked_not_to_mask():
    line = cli.image_build(build_args={"DB_PASSWORD": "hunter2"}, masked=False)

    assert "--build-arg DB_PASSWORD=hunter2" in line


def test_save_names_the_images_tags_so_a_load_brings_them_back():
    assert cli.image_save("0123456789ab", ["app:1", "app:2"]) == (
        "docker save --output 0123456789ab.tar app:1 app:2"
    )


def test_load_names_its_input_file_quoted():
    assert cli.image_load("saved images.tar") == "docker load --input 'saved images.tar'"


# --- tags and build args -----------------------------------------------------------------


def test_tags_are_one_a_line_and_a_name_alone_means_latest():
    assert parse_tags("app\n\n  registry.example.com:5000/team/app:1.2  \napp:latest") == (
        "app:latest",
        "registry.example.com:5000/team/app:1.2",
    )


def test_no_tag_is_no_tags():
    assert parse_tags("  \n") == ()


@pytest.mark.parametrize("text", ["UPPER/case:1", "name:bad tag", "app:1\nno good!"])
def test_a_tag_the_cli_would_refuse_is_refused_naming_it(text):
    with pytest.raises(ValidationError, match="not an image reference"):
        parse_tags(text)


def test_build_args_are_key_value_lines_the_value_kept_as_written():
    assert parse_build_args("A=1\n# a comment\n\nB= two = 2\nEMPTY=") == {
        "A": "1",
        "B": " two = 2",
        "EMPTY": "",
    }


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("A", "has no value"),
        ("=1", "neither empty"),
        ("A B=1", "neither empty"),
        ("A=1\nA=2", "twice"),
    ],
)
def test_a_bad_build_arg_line_is_refused_with_what_is_wrong(text, says):
    with pytest.raises(ValidationError, match=says):
        parse_build_args(text)


# --- the build form ----------------------------------------------------------------------


def build_form(data: dict, files: dict | None = None) -> ImageBuildForm:
    return ImageBuildForm(data, files or {})


def test_a_typed_dockerfile_is_enough_and_its_crlf_lines_become_lf():
    form = build_form({"dockerfile": "FROM busybox\r\nRUN true\r\n", "tag": "app:1"})

    assert form.is_valid(), form.errors
    assert form.cleaned_data["dockerfile"] == "FROM busybox\nRUN true\n"
    assert form.cleaned_data["tag"] == ("app:1",)
    assert form.cleaned_data["context"] is None


@pytest.mark.parametrize("dockerfile", ["", "  \r\n\t"])
def test_neither_a_dockerfile_nor_a_context_is_refused(dockerfile):
    form = build_form({"dockerfile": dockerfile})

    assert not form.is_valid()
    assert "Type a Dockerfile, or upload a context" in str(form.non_field_errors())


def test_an_uploaded_context_is_enough_gzip_or_not():
    for data in (
        tar_of({"Dockerfile": b"FROM x"}),
        gzip.compress(tar_of({"Dockerfile": b"FROM x"})),
    ):
        form = build_form({}, {"context": upload(data)})

        assert form.is_valid(), form.errors


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"FROM busybox\n" * 100, "not a tar archive"),
        (gzip.compress(b"not a tar inside" * 100), "not a tar archive"),
        (b"\0" * 10240, "empty"),
        (b"", "empty"),
    ],
    ids=["text", "gzip of text", "empty tar", "empty file"],
)
def test_a_context_that_is_not_a_tar_is_refused_saying_so(data, says):
    form = build_form({"dockerfile": "FROM x"}, {"context": upload(data)})

    assert not form.is_valid()
    assert says in str(form.errors["context"])


def test_a_target_with_spaces_or_a_bad_build_arg_is_refused():
    form = build_form({"dockerfile": "FROM x", "target": "NOT VALID", "build_arg": "nope"})

    assert not form.is_valid()
    assert set(form.errors) == {"target", "build_arg"}


def test_the_body_no_form_accepts_is_refused_by_the_build_form():
    form = build_form(
        {"name": "not a valid name!", "action": "stop", "target": "NOT VALID", "all": "?"}
    )

    assert not form.is_valid()


# --- the load form -----------------------------------------------------------------------


def test_a_tar_is_loaded_gzip_or_not():
    for data in (tar_of({"manifest.json": b"[]"}), gzip.compress(tar_of({"manifest.json": b"[]"}))):
        assert ImageLoadForm({}, {"input": upload(data)}).is_valid()


@pytest.mark.parametrize(
    ("files", "says"),
    [
        ({}, "Choose a tar file"),
        ({"input": upload(b"", "x.tar")}, "empty"),
        (
            {"input": upload(b"PK\x03\x04 a zip" * 64, "x.zip")},
            "x.zip cannot be loaded: it is not a tar",
        ),
    ],
    ids=["no file", "empty file", "a zip"],
)
def test_what_is_not_a_tar_is_not_loaded_and_says_why(files, says):
    form = ImageLoadForm({}, files)

    assert not form.is_valid()
    assert says in str(form.errors["input"])


# --- the archives a job is handed ---------------------------------------------------------


def test_a_typed_dockerfile_becomes_a_context_of_its_own_in_memory():
    payload = uploads.dockerfile_context("FROM x\n")

    assert payload.path is None and payload.size == len(payload.data)
    with payload.open() as body:
        assert members(body.read()) == {"Dockerfile": b"FROM x\n"}


def test_a_small_upload_is_copied_to_a_private_file_the_job_deletes(settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    data = tar_of({"Dockerfile": b"FROM x"})

    payload = uploads.taken(upload(data))

    assert payload.path.parent == tmp_path and payload.size == len(data)
    assert payload.path.read_bytes() == data
    assert stat.S_IMODE(payload.path.stat().st_mode) == 0o600
    payload.discard()
    assert not payload.path.exists()


def test_a_large_upload_is_renamed_not_copied(settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    data = tar_of({"big": os.urandom(100_000)})
    temporary = TemporaryUploadedFile("saved.tar", "application/x-tar", len(data), None)
    temporary.write(data)
    temporary.seek(0)
    django_path = temporary.temporary_file_path()
    inode = Path(django_path).stat().st_ino

    payload = uploads.taken(temporary)
    temporary.close()  # as Django does when the request ends: the file stays ours

    assert payload.path.stat().st_ino == inode
    assert payload.path.read_bytes() == data
    assert stat.S_IMODE(payload.path.stat().st_mode) == 0o600
    assert sorted(tmp_path.iterdir()) == [payload.path]
    payload.discard()


def test_a_typed_dockerfile_joins_the_context_under_a_name_of_its_own_that_is_ignored(
    settings, tmp_path
):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    context = gzip.compress(tar_of({"Dockerfile": b"FROM old", "app.txt": b"hello"}))

    payload, name = uploads.context_with_dockerfile(upload(context), "FROM new\n")

    found = members(payload.path.read_bytes())
    assert name.startswith(".dockerfile.") and len(name) == len(".dockerfile.") + 20
    assert found[name] == b"FROM new\n"
    assert found["Dockerfile"] == b"FROM old" and found["app.txt"] == b"hello"
    assert found[".dockerignore"] == f".dockerignore\n{name}\n".encode()
    payload.discard()


def test_a_context_dockerignore_keeps_its_patterns_and_gains_the_typed_dockerfile(
    settings, tmp_path
):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    context = tar_of({"./.dockerignore": b"*.log\nsecret\n", "a": b"1"})

    payload, name = uploads.context_with_dockerfile(upload(context), "FROM x")

    found = members(payload.path.read_bytes())
    assert found[".dockerignore"] == f"*.log\nsecret\n{name}\n".encode()
    assert "./.dockerignore" not in found
    payload.discard()


def test_a_context_cut_short_is_unreadable_and_leaves_no_file(settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    context = gzip.compress(tar_of({"a": os.urandom(50_000)}))[:20_000]

    with pytest.raises(uploads.Unreadable, match="could not be read to the end"):
        uploads.context_with_dockerfile(upload(context), "FROM x")

    assert list(tmp_path.iterdir()) == []
