"""An install from before there were several engines keeps its audit trail, jobs, teams,
compose projects, image origins and screens: its one engine becomes the default engine."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("containers_app", "0010_team_registries_repositories")]
AFTER = [("containers_app", "0012_screen_engines")]
OLD_ADDRESS = "unix:///var/run/docker.sock"


def migrated_to(target):
    executor = MigrationExecutor(connection)
    executor.migrate(target)
    return executor.loader.project_state(target).apps


@pytest.mark.django_db(transaction=True)
def test_an_older_install_s_rows_name_the_default_engine_after_migrating(settings):
    settings.DOCKER_HOST = OLD_ADDRESS
    old = migrated_to(BEFORE)
    team = old.get_model("containers_app", "Team").objects.create(slug="shop", name="Shop")
    old.get_model("containers_app", "AuditEntry").objects.create(
        username="ann", engine=OLD_ADDRESS, action="stop", target="web", command="docker stop web",
        succeeded=True,
    )  # fmt: skip
    old.get_model("containers_app", "Job").objects.create(
        username="ann", engine=OLD_ADDRESS, kind="pull", target="nginx", command="docker pull"
    )
    old.get_model("containers_app", "ProjectAssignment").objects.create(
        engine=OLD_ADDRESS, project="shop", team=team
    )
    old.get_model("containers_app", "ImageOrigin").objects.create(
        engine=OLD_ADDRESS, image_id="sha256:" + "a" * 64, team="shop", how="build"
    )
    old.get_model("containers_app", "Screen").objects.create(
        name="wall", team=team, token_hash="f" * 64
    )
    try:
        new = migrated_to(AFTER)

        engine = new.get_model("containers_app", "Engine").objects.get()
        assert (engine.slug, engine.address, engine.every_team) == ("local", OLD_ADDRESS, True)
        for model in ("AuditEntry", "Job", "ProjectAssignment", "ImageOrigin"):
            rows = new.get_model("containers_app", model).objects.values_list("engine", flat=True)
            assert list(rows) == ["local"], model
        screen = new.get_model("containers_app", "Screen").objects.get()
        assert screen.team.slug == "shop"
        assert list(screen.engines.values_list("slug", flat=True)) == ["local"]
        assert new.get_model("containers_app", "Team").objects.get().slug == "shop"
    finally:
        MigrationExecutor(connection).migrate(
            MigrationExecutor(connection).loader.graph.leaf_nodes()
        )
