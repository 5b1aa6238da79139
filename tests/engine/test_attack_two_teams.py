"""Two teams on one host, played as an attacker would: the admin of one team tries to reach
the other team's objects through every way Berth offers, and each attempt is refused."""

import pytest

from tests.conftest import HOME_TEAM, OTHER_TEAM, STOPPABLE, client_of, member, unique

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def attacker(db):
    """The admin of the other team, who wants the home team's objects."""
    return client_of(member(unique("attacker"), OTHER_TEAM, "admin"))


def exists(docker_api, container_id: str) -> bool:
    """Whether the container of this full id is still there: asked by id, the engine could
    answer with a decoy named as that id."""
    return any(c["Id"] == container_id for c in docker_api.containers(all=True))


@pytest.mark.parametrize("length", [64, 12])
def test_a_bulk_removal_of_a_decoy_named_as_another_team_s_id_removes_only_the_decoy(
    length, attacker, make, docker_api
):
    victim = make.container(command=STOPPABLE)
    decoy = make.container(command=STOPPABLE, name=victim["Id"][:length], team=OTHER_TEAM)
    answer = attacker.post(
        "/containers/bulk/", {"action": "force_remove", "ids": victim["Id"][:length]}
    )
    assert answer.status_code in (200, 302)
    assert exists(docker_api, victim["Id"])
    if length == 12:
        # A name comes before an id prefix, as the engine resolves it: the decoy is the one.
        assert not exists(docker_api, decoy["Id"])
