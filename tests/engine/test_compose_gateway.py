"""The compose binary as Berth runs it: its own environment, its private folder, and every
kind of engine (unix, TCP with TLS, SSH)."""

import pytest

from containers_app.engine import EngineError, EngineUnavailable, compose
from tests.conftest import PREFIX, TEST_IMAGE, unique
from tests.engine.remote_engines import KINDS, Remote

SLEEPER = f"""
services:
  web:
    image: {TEST_IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
    environment:
      SECRET: "${{DJANGO_SECRET_KEY}}"
      GIVEN: "${{GIVEN}}"
"""


def test_config_sees_none_of_berths_environment(monkeypatch):
    monkeypatch.setenv("DJANGO_SECRET_KEY", "berth-own-secret")
    monkeypatch.setenv("GIVEN", "from-berth")
    read = compose.config(unique("p"), compose.Files(SLEEPER, env="GIVEN=from-the-app\n"))
    assert read["services"]["web"]["environment"] == {"SECRET": "", "GIVEN": "from-the-app"}


def test_config_says_what_compose_refuses_in_its_words_without_the_private_folder():
    with pytest.raises(compose.ComposeInvalid) as refused:
        compose.config(unique("p"), compose.Files("services:\n  web:\n    imag: x\n"))
    assert "services.web additional properties 'imag' not allowed" in refused.value.reason
    assert "berth-compose-" not in refused.value.reason


def test_the_private_folder_is_gone_after_a_run(engine):
    with compose.workspace(engine, unique("p"), compose.Files(SLEEPER)) as space:
        folder = space.folder
        assert oct(folder.stat().st_mode & 0o777) == "0o700"
        assert (folder / compose.COMPOSE_FILE).read_text() == SLEEPER
    assert not folder.exists()


def _up_and_down(engine, check) -> None:
    project = unique("app").replace("-", "")
    lines: list[str] = []
    with compose.workspace(engine, project, compose.Files(SLEEPER)) as space:
        try:
            compose.run(space, ["up", "-d"], on_line=lines.append)
            check(project)
        finally:
            compose.run(space, ["down"], on_line=lines.append)
    assert any(f"Container {project}-web-1  Started" in line for line in lines), lines


def test_up_and_down_on_the_local_engine(engine, docker_api):
    def running(project: str) -> None:
        found = docker_api.containers(filters={"label": f"com.docker.compose.project={project}"})
        assert [c["State"] for c in found] == ["running"]

    _up_and_down(engine, running)


@pytest.mark.parametrize("kind", KINDS)
def test_up_and_down_on_a_remote_engine(db, kind):
    remote = Remote(kind)

    def running(project: str) -> None:
        found = remote.api.containers(filters={"label": f"com.docker.compose.project={project}"})
        assert [c["State"] for c in found] == ["running"]

    try:
        _up_and_down(remote.engine, running)
    finally:
        remote.remove()


def test_an_ssh_host_showing_another_key_is_refused_before_compose_runs(db):
    wrong = Remote("ssh", wrong=True)
    try:
        refused = pytest.raises(EngineUnavailable, match="SSH host key")
        with refused, compose.workspace(wrong.engine, unique("p"), compose.Files(SLEEPER)):
            pass
    finally:
        wrong.remove()


def test_a_failed_run_raises_with_compose_words(engine):
    broken = f"services:\n  web:\n    image: {PREFIX}no-such-image:none\n    pull_policy: never\n"
    project = unique("p").replace("-", "")
    failed = pytest.raises(EngineError, match="docker compose up failed")
    with compose.workspace(engine, project, compose.Files(broken)) as space, failed:
        compose.run(space, ["up", "-d"], on_line=lambda line: None)
