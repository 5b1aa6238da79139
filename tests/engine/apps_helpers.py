"""Compose applications as tests make them: a project name of the tests' prefix, and every
container, network and volume of it removed afterwards, whoever made them."""

import contextlib

import docker
import docker.errors

from tests.conftest import STOPPABLE, TEST_IMAGE, unique

PROJECT_LABEL = "com.docker.compose.project"


def project_name() -> str:
    return unique("app")


def service(command: list[str] = STOPPABLE, **more) -> dict:
    return {"image": TEST_IMAGE, "command": command, **more}


def remove_project(api: docker.APIClient, project: str) -> None:
    """Every object of compose project `project` on the engine `api` reaches."""
    label = {"label": f"{PROJECT_LABEL}={project}"}
    for container in api.containers(all=True, filters=label):
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_container(container["Id"], force=True, v=True)
    for network in api.networks(filters=label):
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            api.remove_network(network["Id"])
    for volume in (api.volumes(filters=label) or {}).get("Volumes") or []:
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            api.remove_volume(volume["Name"], force=True)


class Projects:
    """Names of compose projects a test uses, each removed on `api`'s engine after it."""

    def __init__(self, api: docker.APIClient) -> None:
        self.api = api
        self.names: list[str] = []

    def new(self) -> str:
        name = project_name()
        self.names.append(name)
        return name

    def containers(self, project: str, service: str | None = None) -> list[dict]:
        labels = [f"{PROJECT_LABEL}={project}"]
        if service:
            labels.append(f"com.docker.compose.service={service}")
        return self.api.containers(all=True, filters={"label": labels})

    def cleanup(self) -> None:
        for name in self.names:
            remove_project(self.api, name)
