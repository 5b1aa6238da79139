"""Dockerfiles read as the builder reads them, and the build rules a team's admin is held to."""

import pytest

from containers_app import access, dockerfiles, rules

ADMIN = access.Actor(name="a", user_id=1, active=True, roles={"web": "admin"})
SUPERUSER = access.Actor(name="s", user_id=2, active=True, superuser=True)


def found(text: str, **args) -> list[dockerfiles.Instruction]:
    return dockerfiles.instructions(text, args)


def test_continued_lines_comments_and_directives_are_read_as_the_builder_reads_them():
    text = "# syntax=docker/dockerfile:1\n# a comment\nFROM base\nRUN echo a \\\n  # inside\n  b\n"
    assert [(i.keyword, i.arguments) for i in found(text)] == [
        ("FROM", "base"),
        ("RUN", "echo a  b"),
    ]


@pytest.mark.parametrize(
    ("text", "args", "url"),
    [
        ("FROM b\nADD http://127.0.0.1:8100/accounts/login/ /f\n", {}, "http://127.0.0.1:8100"),
        ("FROM b\nARG U=http://169.254.169.254/latest\nADD $U /f\n", {}, "http://169.254.169.254"),
        ("FROM b\nARG U\nADD ${U} /f\n", {"U": "https://10.0.0.1/x"}, "https://10.0.0.1/x"),
        ("FROM b\nADD --chown=1 git@example.org:x.git /src\n", {}, "git@example.org:x.git"),
        ('FROM b\nADD ["http://127.0.0.1/x", "/f"]\n', {}, "http://127.0.0.1/x"),
    ],
)
def test_an_add_of_a_url_is_found_after_build_args_and_arg_defaults(text, args, url):
    sources = dockerfiles.remote_sources(found(text, **args))
    assert len(sources) == 1 and sources[0].startswith(url)


def test_add_of_local_files_and_copy_are_no_remote_sources():
    text = "FROM b\nADD app.tar.gz /app\nCOPY http.conf /etc/\n"
    assert dockerfiles.remote_sources(found(text)) == []


def test_labels_of_every_stage_are_found_in_both_spellings():
    text = 'FROM a AS one\nLABEL berth.team=web\nFROM b\nLABEL com.docker.compose.project "shop"\n'
    assert dockerfiles.labels(found(text)) == {
        "berth.team": "web",
        "com.docker.compose.project": "shop",
    }


def test_base_images_leave_out_the_dockerfile_s_own_stages_and_scratch():
    text = "FROM golang:1 AS build\nFROM build AS test\nFROM scratch\nFROM --platform=x alpine\n"
    assert dockerfiles.base_images(found(text)) == ["golang:1", "alpine"]


def test_a_team_admin_may_not_build_what_reaches_the_host_s_network_or_claims_an_owner():
    reasons = rules.build_refusals(
        ADMIN,
        labels=["berth.team", "com.docker.compose.project", "org.example.x"],
        remote_sources=["http://127.0.0.1:8100/"],
        bases_missing=["registry.example/base:1"],
        bases_with_triggers=["onbuild:1"],
    )
    assert len(reasons) == 5
    assert "LABEL berth.team" in reasons[0]
    assert "ADD http://127.0.0.1:8100/" in reasons[2]
    assert "pull it first" in reasons[3]
    assert "ONBUILD" in reasons[4]


def test_a_superuser_builds_anything():
    assert not rules.build_refusals(
        SUPERUSER,
        labels=["berth.team"],
        remote_sources=["http://x/"],
        bases_missing=["a"],
        bases_with_triggers=["b"],
    )


# --- image names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "name"),
    [
        ("app", "app:latest"),
        ("docker.io/library/app:1", "app:1"),
        ("docker.io/team/app", "team/app:latest"),
        ("registry:5000/app", "registry:5000/app:latest"),
        ("app@sha256:abc", "app@sha256:abc"),
    ],
)
def test_an_image_name_is_compared_as_the_engine_files_it(reference, name):
    assert rules.image_name(reference) == name


def test_a_name_another_team_s_container_uses_is_not_moved_by_a_team_admin():
    theirs = access.Target(access.CONTAINER, {access.TEAM_LABEL: "shop"})
    ours = access.Target(access.CONTAINER, {access.TEAM_LABEL: "web"})
    nobody = access.Target(access.CONTAINER, {})

    def takeover(users, **facts):
        arguments = {"points_to": "sha256:old", "new_image": "sha256:new"} | facts
        return rules.name_takeover(ADMIN, "app:1", users=users, **arguments)

    assert "another team" in takeover([theirs, ours])
    assert "no team" in takeover([nobody])
    assert takeover([ours]) is None
    assert takeover([theirs], points_to=None) is None  # a free name
    assert takeover([theirs], new_image="sha256:old") is None  # the same image
    assert "another team" in takeover([theirs], new_image=None)  # a build: a new image
    assert (
        rules.name_takeover(SUPERUSER, "app:1", points_to="a", new_image="b", users=[theirs])
        is None
    )


def test_a_default_or_an_alternative_of_a_variable_is_substituted_as_the_builder_does():
    text = "FROM b\nARG U\nARG V\nADD ${U:-http://127.0.0.1/x} /f\nADD ${V:+http://10.0.0.1/} /g\n"
    assert dockerfiles.remote_sources(found(text)) == ["http://127.0.0.1/x"]
    assert dockerfiles.remote_sources(found(text, V="1")) == [
        "http://127.0.0.1/x",
        "http://10.0.0.1/",
    ]


def test_an_image_copy_from_names_is_a_base_but_a_stage_is_not():
    text = "FROM a AS build\nFROM b\nCOPY --from=build /x /x\nCOPY --from=0 /y /y\n"
    text += "COPY --from=registry.internal/tools:1 /z /z\n"
    assert dockerfiles.base_images(found(text)) == ["a", "b", "registry.internal/tools:1"]
