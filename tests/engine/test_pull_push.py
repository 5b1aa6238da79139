"""`docker pull` and `docker push` through Berth, as jobs, against real registries (Debian's
docker-registry, one open and one with a password, in the test engine's network)."""

import secrets

import pytest

from containers_app import credentials
from containers_app.models import AuditEntry, Job
from tests.conftest import ENGINE_DIR, unique
from tests.engine.jobs_helpers import job_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pushed_image(make, docker_api):
    """An image with a layer of its own (random bytes), tagged for a registry: pulling it
    again after removing it downloads that layer."""

    def build(repository: str, tag: str = "1", size: int = 300_000) -> tuple[str, str]:
        reference = f"{repository}:{tag}"
        image_id = make.image(
            reference,
            dockerfile_line=f"RUN head -c {size} /dev/urandom > /blob-{secrets.token_hex(4)}",
        )
        return image_id, reference

    return build


def forget_image(docker_api, image_id: str) -> None:
    docker_api.remove_image(image_id, force=True)


def test_an_image_pushed_then_pulled_back_shows_its_layers_and_digest(
    staff_client, registry, pushed_image, docker_api, make
):
    repository = f"{registry.address}/{unique('push')}"
    image_id, reference = pushed_image(repository)

    push = job_of(staff_client.post(f"/images/{image_id}/push/", {"reference": reference}))

    assert push.state == Job.DONE, push.result
    assert push.command == f"docker push {reference}"
    digest = push.progress["digest"]
    assert digest.startswith("sha256:") and digest in push.result
    forget_image(docker_api, image_id)

    pull = job_of(staff_client.post("/images/pull/", {"reference": reference}))

    make.images.append(reference)
    assert pull.state == Job.DONE, pull.result
    assert pull.progress["percent"] == 100.0
    assert pull.progress["digest"] == digest and digest in pull.result
    statuses = {layer[0] for layer in pull.progress["layers"].values()}
    assert "Pull complete" in statuses  # its own layer came down
    assert docker_api.inspect_image(reference)["Id"] == image_id
    page = staff_client.get(f"/jobs/{pull.pk}/")
    assert digest.encode() in page.content
    entries = AuditEntry.objects.filter(action__in=("push", "pull"), target=reference)
    assert sorted(e.command for e in entries if e.succeeded) == [
        f"docker pull {reference}",
        f"docker push {reference}",
    ]


def test_push_tags_the_image_first_when_the_reference_is_new(
    staff_client, registry, pushed_image, docker_api
):
    image_id, _ = pushed_image(f"berthtest-local/{unique('p')}")
    reference = f"{registry.address}/{unique('renamed')}:2"

    push = job_of(staff_client.post(f"/images/{image_id}/push/", {"reference": reference}))

    assert push.state == Job.DONE, push.result
    assert docker_api.inspect_image(reference)["Id"] == image_id
    assert AuditEntry.objects.get(action="tag", target=reference).succeeded


def test_a_name_alone_pulls_latest_and_never_every_tag(
    staff_client, registry, pushed_image, docker_api, make
):
    repository = f"{registry.address}/{unique('latest')}"
    latest_id, latest = pushed_image(repository, "latest")
    other_id, _ = pushed_image(repository, "other")
    for tag in ("latest", "other"):
        for line in docker_api.push(repository, tag=tag, stream=True, decode=True):
            assert "error" not in line, line
    forget_image(docker_api, latest_id)
    forget_image(docker_api, other_id)

    pull = job_of(staff_client.post("/images/pull/", {"reference": repository}))

    make.images.append(latest)
    assert pull.state == Job.DONE, pull.result
    assert pull.target == latest and pull.command == f"docker pull {latest}"
    assert docker_api.images(name=repository, quiet=True) == [latest_id]


def test_an_image_is_pulled_by_its_digest(staff_client, registry, pushed_image, docker_api, make):
    image_id, reference = pushed_image(f"{registry.address}/{unique('digest')}")
    push = job_of(staff_client.post(f"/images/{image_id}/push/", {"reference": reference}))
    digest = push.progress["digest"]
    forget_image(docker_api, image_id)
    by_digest = f"{reference.rsplit(':', 1)[0]}@{digest}"

    pull = job_of(staff_client.post("/images/pull/", {"reference": by_digest}))

    make.images.append(image_id)
    assert pull.state == Job.DONE, pull.result
    assert pull.target == by_digest
    assert docker_api.inspect_image(by_digest)["Id"] == image_id


def test_a_missing_image_fails_the_pull_with_the_registrys_reason(staff_client, registry):
    reference = f"{registry.address}/{unique('absent')}:1"

    pull = job_of(staff_client.post("/images/pull/", {"reference": reference}))

    assert pull.state == Job.FAILED
    assert "manifest unknown" in pull.result or "not found" in pull.result
    assert not AuditEntry.objects.get(action="pull", target=reference).succeeded


def test_a_missing_registry_fails_the_pull_saying_so(staff_client):
    pull = job_of(staff_client.post("/images/pull/", {"reference": "127.0.0.1:1/absent:1"}))

    assert pull.state == Job.FAILED
    assert "connection refused" in pull.result


def test_an_error_in_the_stream_after_the_pull_began_fails_it(
    staff_client, registry, pushed_image, docker_api
):
    """The engine has answered 200 and sent progress by the time a layer turns out to be
    missing: the job still fails (a peer reports such pulls as successful)."""
    image_id, reference = pushed_image(f"{registry.address}/{unique('broken')}", size=3_000_000)
    push = job_of(staff_client.post(f"/images/{image_id}/push/", {"reference": reference}))
    forget_image(docker_api, image_id)
    # The registry stores blobs by their compressed digest: remove every blob the manifest
    # names but the base image's, found by being absent from the base image's push.
    storage = ENGINE_DIR / "registries" / "open-data"
    manifests = list(storage.rglob(f"_manifests/revisions/sha256/{push.progress['digest'][7:]}"))
    assert manifests
    layer_links = list((manifests[0].parents[3] / "_layers" / "sha256").iterdir())
    blobs = storage / "docker" / "registry" / "v2" / "blobs" / "sha256"
    sizes = {
        link.name: (blobs / link.name[:2] / link.name / "data").stat().st_size
        for link in layer_links
    }
    own_blob = max(sizes, key=sizes.get)  # 3 MB of random bytes outweigh busybox's layer
    (blobs / own_blob[:2] / own_blob / "data").unlink()

    pull = job_of(staff_client.post("/images/pull/", {"reference": reference}))

    assert pull.state == Job.FAILED
    assert pull.progress["layers"], "the pull had begun"
    assert "blob" in pull.result.lower() or "unknown" in pull.result.lower(), pull.result


def test_a_pull_from_a_registry_with_a_password_uses_the_users_stored_login(
    staff_client, staff_user, auth_registry, pushed_image, docker_api, make
):
    image_id, reference = pushed_image(f"{auth_registry.address}/{unique('private')}")
    login = {"username": auth_registry.username, "password": auth_registry.password}
    for line in docker_api.push(reference, auth_config=login, stream=True, decode=True):
        assert "error" not in line, line
    forget_image(docker_api, image_id)

    refused = job_of(staff_client.post("/images/pull/", {"reference": reference}))
    credentials.store(owner=staff_user, server=auth_registry.address, **login)
    pulled = job_of(staff_client.post("/images/pull/", {"reference": reference}))

    make.images.append(reference)
    assert refused.state == Job.FAILED
    assert "auth" in refused.result.lower() or "unauthorized" in refused.result.lower()
    assert pulled.state == Job.DONE, pulled.result
    assert auth_registry.password not in pulled.output + pulled.result + pulled.command


@pytest.mark.parametrize(
    "reference",
    ["UPPER/case:1", "name:bad tag", "a@sha256:short", "", "x" * 600],
)
def test_a_reference_the_cli_would_refuse_is_refused_with_a_message(staff_client, reference):
    response = staff_client.post("/images/pull/", {"reference": reference})

    assert response.status_code == 400
    assert b"reference" in response.content.lower() or b"digest" in response.content.lower()
    assert not Job.objects.exists()


def test_a_viewer_can_neither_pull_nor_push(viewer_client):
    assert viewer_client.post("/images/pull/", {"reference": "busybox"}).status_code == 403
    assert viewer_client.post("/images/0123456789ab/push/", {"reference": "x:1"}).status_code == 403
    assert not Job.objects.exists()


def test_a_stored_login_the_key_cannot_read_is_a_409_saying_to_log_in_again(
    staff_client, staff_user, registry
):
    from cryptography.fernet import Fernet

    from containers_app.models import RegistryCredential

    RegistryCredential.objects.create(
        owner=staff_user,
        server=registry.address,
        username="someone",
        secret=Fernet(Fernet.generate_key()).encrypt(b"old key").decode(),
    )

    response = staff_client.post("/images/pull/", {"reference": f"{registry.address}/x:1"})

    assert response.status_code == 409
    assert b"log in to that registry again" in response.content
    assert not Job.objects.exists()
