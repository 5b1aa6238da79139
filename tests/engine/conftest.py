"""Fixtures of the engine tests beyond tests/conftest.py's."""

import pytest

from tests.engine.apps_helpers import Projects


@pytest.fixture
def projects(docker_api):
    """Compose project names for a test; each project's objects are removed after it."""
    made = Projects(docker_api)
    yield made
    made.cleanup()
