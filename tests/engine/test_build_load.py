"""`docker build` and `docker load` through Berth, as jobs with live output, against the
test engine: typed Dockerfiles and uploaded contexts, a save brought back by a load, and
the uploaded files each job deletes when it ends."""

import gzip
import io
import secrets
import tarfile

import pytest
from asgiref.sync import async_to_sync
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import AsyncClient

from containers_app import credentials
from containers_app.engine import EngineError
from containers_app.engine import images as engine_images
from containers_app.models import AuditEntry, Job
from tests.conftest import TEST_IMAGE, made_by, unique, wait_on_condition
from tests.engine.jobs_helpers import job_of

pytestmark = pytest.mark.django_db(transaction=True)


def tar_of(files: dict[str, str | bytes], *, compressed: bool = False) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files.items():
            data = data.encode() if isinstance(data, str) else data
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(buffer.getvalue()) if compressed else buffer.getvalue()


def file(data: bytes, name: str = "context.tar") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/x-tar")


@pytest.fixture
def uploads_folder(settings, tmp_path):
    """Where Django and Berth put uploaded files, empty to begin with, so a test sees
    what a job left behind."""
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    return tmp_path


@pytest.fixture
def built(staff_client, make, docker_api):
    """Builds through Berth's page; records the image of each tag for removal, before the
    images it may be built on."""

    def build(**fields) -> Job:
        job = job_of(staff_client.post("/images/build/", fields))
        for tag in fields.get("tag", "").split():
            if job.state == Job.DONE:
                make.images.insert(0, docker_api.inspect_image(tag)["Id"])
        return job

    return build


def test_a_typed_dockerfile_is_built_with_its_build_args_and_tags(
    built, docker_api, staff_client, uploads_folder
):
    name = unique("build")
    secret = secrets.token_hex(8)
    dockerfile = (
        f"FROM {TEST_IMAGE}\nARG GREETING\nARG API_TOKEN\n"
        f'RUN echo "greeting is $GREETING" && test "$API_TOKEN" = "{secret}"\n'
        f"LABEL org.example.berthtest={secrets.token_hex(4)}\n"
    )

    job = built(
        dockerfile=dockerfile,
        tag=f"{name}:1\n{name}",
        build_arg=f"GREETING=hello {name}\nAPI_TOKEN={secret}",
    )

    assert job.state == Job.DONE, job.result + job.output
    image_id = docker_api.inspect_image(f"{name}:1")["Id"]
    assert docker_api.inspect_image(f"{name}:latest")["Id"] == image_id
    assert job.kind == "build" and job.target == f"{name}:1"
    assert job.result == f"Successfully built {image_id[7:19]}, tagged {name}:1, {name}:latest"
    assert f"greeting is hello {name}" in job.output
    assert f"Successfully tagged {name}:latest" in job.output
    assert job.command == (
        f"docker build -t {name}:1 -t {name}:latest --build-arg 'GREETING=hello {name}' "
        "--build-arg 'API_TOKEN=••••••' --force-rm - < Dockerfile"
    )
    entry = AuditEntry.objects.get(action="build", target=f"{name}:1")
    assert entry.succeeded and entry.command == job.command
    assert secret not in job.command + job.result
    assert list(uploads_folder.iterdir()) == []
    assert f"greeting is hello {name}".encode() in staff_client.get(f"/jobs/{job.pk}/").content


def test_a_failing_step_fails_the_build_with_its_output(built, docker_api):
    name = unique("fails")

    job = built(
        dockerfile=f'FROM {TEST_IMAGE}\nRUN echo "ran-$((40+2))-{name}" && false\n', tag=name
    )

    assert job.state == Job.FAILED
    assert "returned a non-zero code: 1" in job.result
    assert f"ran-42-{name}" in job.output
    assert not AuditEntry.objects.get(action="build", target=f"{name}:latest").succeeded
    assert not docker_api.images(name=name)
    # The failed step's container went with it (--force-rm).
    assert not [c for c in docker_api.containers(all=True) if name in c["Command"]]


def test_an_unknown_instruction_fails_the_build_with_the_engines_reason(built):
    job = built(dockerfile=f"FROM {TEST_IMAGE}\nBOGUS x\n", tag=unique("bogus"))

    assert job.state == Job.FAILED
    assert "unknown instruction: BOGUS" in job.result


def test_a_target_builds_only_the_stages_up_to_it(built, docker_api):
    name = unique("target")
    dockerfile = (
        f"FROM {TEST_IMAGE} AS first\nLABEL stage=first\n"
        f'RUN echo "ran-first-$((40+2))" | tee /stage-{name}\n'
        f'FROM first AS second\nLABEL stage=second\nRUN echo "ran-second-$((40+2))"\n'
    )

    job = built(dockerfile=dockerfile, tag=name, target="first")

    assert job.state == Job.DONE, job.result + job.output
    assert "ran-first-42" in job.output
    assert "ran-second-42" not in job.output
    assert docker_api.inspect_image(name)["Config"]["Labels"]["stage"] == "first"
    assert "--target first" in job.command


@pytest.mark.parametrize(
    ("compressed", "kept_in_memory"),
    [(False, True), (True, False)],
    ids=["tar kept in memory", "gzipped tar in a temporary file"],
)
def test_an_uploaded_context_is_built_and_its_file_deleted_after(
    built, settings, uploads_folder, compressed, kept_in_memory
):
    if not kept_in_memory:
        settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # Django writes it to a temporary file
    name, marker = unique("context"), secrets.token_hex(6)
    context = tar_of(
        {
            "Dockerfile": f"FROM {TEST_IMAGE}\nCOPY hello.txt /hello.txt\nRUN cat /hello.txt\n",
            "hello.txt": f"hello from the context {marker}\n",
        },
        compressed=compressed,
    )
    upload = file(context, "my context.tar.gz" if compressed else "context.tar")

    job = built(context=upload, tag=name)

    assert job.state == Job.DONE, job.result + job.output
    assert f"hello from the context {marker}" in job.output
    assert job.command == f"docker build -t {name}:latest --force-rm - < " + (
        "'my context.tar.gz'" if compressed else "context.tar"
    )
    assert list(uploads_folder.iterdir()) == []


def test_a_typed_dockerfile_is_used_with_an_uploaded_context_and_left_out_of_it(
    built, uploads_folder
):
    name = unique("both")
    context = tar_of(
        {"Dockerfile": f"FROM {TEST_IMAGE}\nRUN false\n", "hello.txt": "hello from both\n"}
    )
    typed = f"FROM {TEST_IMAGE}\nCOPY . /ctx/\nRUN ls -a /ctx && cat /ctx/hello.txt\n"

    job = built(dockerfile=typed, context=file(context), tag=name)

    assert job.state == Job.DONE, job.result + job.output
    assert "hello from both" in job.output
    listed = job.output.split("RUN ls -a /ctx", 1)[1]
    assert "Dockerfile" in listed  # the context's own, copied as a file
    assert ".dockerfile." not in listed and ".dockerignore" not in listed
    assert job.command == f"docker build -t {name}:latest --force-rm -f - . < Dockerfile"
    assert list(uploads_folder.iterdir()) == []


def test_no_cache_builds_every_step_again(built, docker_api):
    name = unique("cache")
    dockerfile = f'FROM {TEST_IMAGE}\nRUN echo "cached {name}"\n'
    first = built(dockerfile=dockerfile, tag=name)

    again = built(dockerfile=dockerfile, tag=name)
    fresh = built(dockerfile=dockerfile, tag=name, no_cache="1")

    assert first.state == again.state == fresh.state == Job.DONE, fresh.result
    assert "Using cache" in again.output  # the cache is there to be used...
    assert "Using cache" not in fresh.output  # ...and --no-cache did not use it
    assert "--no-cache" in fresh.command
    assert docker_api.inspect_image(name)["Id"][7:19] in fresh.result


def test_a_superusers_build_pulls_its_base_from_a_registry_with_their_login(
    admin_client, admin_user, auth_registry, make, docker_api
):
    def built(**fields) -> Job:
        job = job_of(admin_client.post("/images/build/", fields))
        if job.state == Job.DONE:
            make.images.insert(0, docker_api.inspect_image(fields["tag"])["Id"])
        return job

    base = f"{auth_registry.address}/{unique('base')}:1"
    make.image(base)
    login = {"username": auth_registry.username, "password": auth_registry.password}
    for line in docker_api.push(base, auth_config=login, stream=True, decode=True):
        assert "error" not in line, line
    docker_api.remove_image(base)
    dockerfile = f"FROM {base}\nRUN echo built-on-private-base\n"

    refused = built(dockerfile=dockerfile, tag=unique("private"))
    credentials.store(owner=admin_user, server=auth_registry.address, **login)
    pulled = built(dockerfile=dockerfile, tag=unique("private"))

    make.images.append(base)
    assert refused.state == Job.FAILED
    assert "auth" in refused.result.lower() or "unauthorized" in refused.result.lower()
    assert pulled.state == Job.DONE, pulled.result + pulled.output
    assert auth_registry.password not in pulled.output + pulled.result + pulled.command


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({}, b"Type a Dockerfile, or upload a context"),
        ({"dockerfile": "  \r\n"}, b"Type a Dockerfile, or upload a context"),
        ({"context": file(b"FROM busybox\n" * 50)}, b"it is not a tar archive"),
        ({"context": file(b"")}, b"empty"),
        ({"dockerfile": "FROM x", "tag": "Bad Tag"}, b"not an image reference"),
        ({"dockerfile": "FROM x", "build_arg": "NOVALUE"}, b"NOVALUE has no value"),
        ({"dockerfile": "FROM x", "target": "NOT VALID"}, b"build stage"),
    ],
    ids=[
        "nothing",
        "blank dockerfile",
        "not a tar",
        "empty upload",
        "bad tag",
        "bad arg",
        "target",
    ],
)
def test_a_build_the_form_refuses_says_why_and_starts_nothing(staff_client, fields, says):
    response = staff_client.post("/images/build/", fields)

    assert response.status_code == 400
    assert says in response.content
    assert not Job.objects.exists()


def test_the_engines_refusal_is_read_when_it_stops_reading_a_context_early(engine):
    """The engine answers a context that is not a tar at its first block and closes the
    connection: what it said comes through, not the broken pipe of the rest."""
    garbage = b"\x07" * 4_000_000
    spec = engine_images.BuildSpec(tags=(f"{unique('garbage')}:1",))

    with pytest.raises(EngineError, match="invalid tar header"):
        engine_images.image_build(
            engine=engine, spec=spec, context=io.BytesIO(garbage), size=len(garbage)
        )


async def download(user, url: str) -> bytes:
    """A streamed download through the ASGI handler, whole."""
    client = AsyncClient()
    await client.aforce_login(user)
    response = await client.get(url)
    assert response.status_code == 200
    return b"".join([block async for block in response.streaming_content])


@pytest.mark.parametrize("kept_in_memory", [True, False], ids=["in memory", "temporary file"])
def test_an_image_saved_then_removed_is_loaded_back_with_its_tag(
    staff_client, staff_user, make, docker_api, settings, uploads_folder, kept_in_memory
):
    if not kept_in_memory:
        settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    reference = f"{unique('load')}:1"
    image_id = make.image(reference, dockerfile_line=f"RUN echo {secrets.token_hex(8)} > /id")
    made_by(image_id)
    saved = async_to_sync(download)(staff_user, f"/images/{image_id}/save/")
    docker_api.remove_image(image_id, force=True)
    assert not docker_api.images(name=reference.split(":")[0])

    job = job_of(staff_client.post("/images/load/", {"input": file(saved, "saved.tar")}))

    assert job.state == Job.DONE, job.result + job.output
    assert job.result == f"Loaded image: {reference}"
    assert job.kind == "load" and job.command == "docker load --input saved.tar"
    assert docker_api.inspect_image(reference)["Id"] == image_id
    assert AuditEntry.objects.get(action="load", target="saved.tar").succeeded
    assert list(uploads_folder.iterdir()) == []


def test_a_gzipped_save_is_loaded_too(staff_client, staff_user, make, docker_api):
    reference = f"{unique('gz')}:1"
    image_id = make.image(reference)
    made_by(image_id)
    saved = gzip.compress(async_to_sync(download)(staff_user, f"/images/{image_id}/save/"))
    docker_api.remove_image(image_id, force=True)

    job = job_of(staff_client.post("/images/load/", {"input": file(saved, "saved.tar.gz")}))

    assert job.state == Job.DONE, job.result
    assert docker_api.inspect_image(reference)["Id"] == image_id


def test_a_load_cancelled_while_queued_deletes_its_file_all_the_same(
    staff_client, settings, blocker, uploads_folder
):
    blocker(settings)
    response = staff_client.post("/images/load/", {"input": file(tar_of({"a": "1"}), "q.tar")})
    job_id = int(response["Location"].rstrip("/").rsplit("/", 1)[1])
    assert len(list(uploads_folder.iterdir())) == 1  # the job's, waiting its turn

    staff_client.post(f"/jobs/{job_id}/cancel/")

    wait_on_condition(lambda: Job.objects.get(pk=job_id).ended)
    assert Job.objects.get(pk=job_id).state == Job.CANCELLED
    assert list(uploads_folder.iterdir()) == []


def test_a_tar_that_is_not_a_saved_image_fails_the_load_saying_so(staff_client, uploads_folder):
    job = job_of(
        staff_client.post("/images/load/", {"input": file(tar_of({"notes.txt": "hi"}), "x.tar")})
    )

    assert job.state == Job.FAILED
    assert "not an image archive as docker save writes one" in job.result
    assert list(uploads_folder.iterdir()) == []


@pytest.mark.parametrize(
    ("files", "says"),
    [
        ({"input": file(b"just some text\n" * 100, "notes.txt")}, b"notes.txt cannot be loaded"),
        ({"input": file(b"", "empty.tar")}, b"empty"),
        ({}, b"Choose a tar file"),
    ],
    ids=["not a tar", "empty", "no file"],
)
def test_a_load_of_what_is_not_a_tar_is_refused_saying_why(staff_client, files, says):
    response = staff_client.post("/images/load/", files)

    assert response.status_code == 400
    assert says in response.content
    assert not Job.objects.exists()


def test_the_images_page_offers_build_and_load_to_staff_only(staff_client, viewer_client):
    staff_page = staff_client.get("/images/").content
    viewer_page = viewer_client.get("/images/").content

    assert b'href="/images/build/"' in staff_page and b'action="/images/load/"' in staff_page
    assert b"/images/build/" not in viewer_page and b"/images/load/" not in viewer_page
    assert staff_client.get("/images/build/").status_code == 200
    assert b'name="input"' in staff_client.get("/images/load/").content
    assert viewer_client.post("/images/load/", {}).status_code == 403
