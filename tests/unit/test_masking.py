"""Secret-looking environment values are masked, names kept, for those who may not see them."""

import json

import pytest

from containers_app.engine.containers import ContainerDetail
from containers_app.engine.convert import pretty_json
from containers_app.masking import MASK, _masked_step, is_secret, masked_container, masked_env


@pytest.mark.parametrize(
    "name",
    [
        "DB_PASSWORD",
        "password",
        "MYSQL_ROOT_PASSWD",
        "AWS_SECRET_ACCESS_KEY",
        "API_KEY",
        "github_token",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "BASIC_AUTH",
        "PRIVATE_KEY_PEM",
        "Npm_Auth_Token",
    ],
)
def test_a_name_holding_a_secret_word_in_any_case_is_secret(name):
    assert is_secret(name)


@pytest.mark.parametrize("name", ["PATH", "HOME", "PLAIN", "LANG", "DB_HOST", "PORT", ""])
def test_an_ordinary_name_is_not_secret(name):
    assert not is_secret(name)


def test_masked_env_hides_secret_values_and_keeps_names_order_and_other_values():
    env = (("PATH", "/bin"), ("DB_PASSWORD", "hunter2"), ("PLAIN", "visible"), ("API_KEY", ""))
    assert masked_env(env) == (
        ("PATH", "/bin"),
        ("DB_PASSWORD", MASK),
        ("PLAIN", "visible"),
        ("API_KEY", MASK),
    )


def container(env: list[str]) -> ContainerDetail:
    data = {"Id": "c" * 64, "Config": {"Env": env, "Image": "busybox"}, "Args": ["x=1"]}
    return ContainerDetail(
        id="c" * 64, name="web", image="busybox", image_id="", created=None, state="running",
        running=True, paused=False, exit_code=0, error="", health="", started_at=None,
        finished_at=None, entrypoint=(), command=(), working_dir="", user="", tty=False,
        env=tuple((k, v) for k, _, v in (e.partition("=") for e in env)), labels={},
        raw_json=pretty_json(data),
    )  # fmt: skip


def test_a_masked_container_holds_no_secret_value_in_its_table_or_its_raw_json():
    shown = masked_container(container(["DB_PASSWORD=hunter2", "PLAIN=visible", "T=a=b"]))

    assert shown.env == (("DB_PASSWORD", MASK), ("PLAIN", "visible"), ("T", "a=b"))
    assert "hunter2" not in shown.raw_json
    assert f'"DB_PASSWORD={MASK}"' in shown.raw_json
    raw = json.loads(shown.raw_json)
    assert raw["Config"]["Env"] == [f"DB_PASSWORD={MASK}", "PLAIN=visible", "T=a=b"]
    assert raw["Args"] == ["x=1"]
    assert shown.name == "web"


def test_a_container_without_secrets_is_shown_unchanged():
    plain = container(["PATH=/bin", "PLAIN=visible"])
    assert masked_container(plain) == plain


def test_a_container_without_environment_or_raw_json_is_masked_without_error():
    bare = container([])
    assert masked_container(bare) == bare
    assert masked_container(ContainerDetail(**{**vars(bare), "raw_json": ""})).raw_json == ""


@pytest.mark.parametrize(
    ("step", "shown"),
    [
        ("/bin/sh -c #(nop)  ENV DB_PASSWORD=hunter2 PLAIN=visible", f"DB_PASSWORD={MASK}"),
        ('ENV API_KEY="a b" X=1', f"API_KEY={MASK} X=1"),
        ("RUN /bin/sh -c login --token=abc user", f"--token={MASK} user"),
    ],
)
def test_a_build_step_shows_no_secret_value(step, shown):
    masked = _masked_step(step)

    assert shown in masked
    assert "hunter2" not in masked and "abc" not in masked and '"a b"' not in masked


def test_a_build_step_without_secrets_is_left_as_it_is():
    step = "/bin/sh -c #(nop)  ENV PATH=/bin LANG=C.UTF-8"

    assert _masked_step(step) == step


def test_build_args_named_pass_or_dsn_and_any_url_password_are_masked_in_a_step():
    step = (
        "|3 DB_PASS=hunter2 SENTRY_DSN=https://k@sentry.example/1 "
        "DATABASE_URL=postgres://app:pw-in-url@db:5432/app /bin/sh -c make"
    )

    masked = _masked_step(step)

    assert "hunter2" not in masked and "pw-in-url" not in masked and "k@sentry" not in masked
    assert f"DATABASE_URL=postgres://app:{MASK}@db:5432/app" in masked


def test_every_value_of_another_team_s_image_is_masked_its_names_kept():
    assert _masked_step("ENV APP_MODE=prod PORT=80", everything=True) == (
        f"ENV APP_MODE={MASK} PORT={MASK}"
    )
