"""Setting Berth up: the first admin, and production settings that pass `check --deploy`."""

import json
import os
import re
import secrets
import string
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
PASSWORD_LINE = re.compile(r"^Its password, shown this once: (\S+)$", re.MULTILINE)


def ensure_admin() -> str:
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    return out.getvalue()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The real hasher takes seconds on a busy machine, and hashing is not what is tested here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def no_superuser_variables(monkeypatch):
    for name in ("USERNAME", "PASSWORD", "EMAIL"):
        monkeypatch.delenv(f"DJANGO_SUPERUSER_{name}", raising=False)
    return monkeypatch


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`python manage.py …` in a fresh process that sees only the given Berth and Django
    variables, so nothing from the calling shell leaks into the settings."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "BERTH_", "DOCKER_"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- ensure_admin ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_ensure_admin_makes_a_superuser_named_admin_and_prints_its_password(
    no_superuser_variables,
):
    out = ensure_admin()
    assert "Created the first admin: admin" in out
    password = PASSWORD_LINE.search(out).group(1)
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.is_active
    assert admin.check_password(password)
    assert len(password) >= 16


@pytest.mark.django_db
def test_ensure_admin_does_nothing_and_prints_nothing_the_second_time(no_superuser_variables):
    first = ensure_admin()
    password = PASSWORD_LINE.search(first).group(1)
    second = ensure_admin()
    assert second == ""
    users = get_user_model().objects.filter(is_superuser=True)
    assert users.count() == 1
    assert users.get().check_password(password)


@pytest.mark.django_db
def test_ensure_admin_makes_a_new_password_each_time_it_makes_an_admin(no_superuser_variables):
    first = PASSWORD_LINE.search(ensure_admin()).group(1)
    get_user_model().objects.all().delete()
    second = PASSWORD_LINE.search(ensure_admin()).group(1)
    assert first != second


@pytest.mark.django_db
def test_ensure_admin_uses_the_given_username_and_password_and_never_prints_it(
    no_superuser_variables,
):
    password = secrets.token_urlsafe(16)
    no_superuser_variables.setenv("DJANGO_SUPERUSER_USERNAME", "captain")
    no_superuser_variables.setenv("DJANGO_SUPERUSER_PASSWORD", password)
    no_superuser_variables.setenv("DJANGO_SUPERUSER_EMAIL", "captain@example.com")
    out = ensure_admin()
    assert "Created the first admin: captain" in out
    assert password not in out
    assert "password" not in out.lower()
    captain = get_user_model().objects.get(username="captain")
    assert captain.is_superuser
    assert captain.email == "captain@example.com"
    assert captain.check_password(password)
    assert not get_user_model().objects.filter(username="admin").exists()


@pytest.mark.django_db
def test_ensure_admin_with_only_a_username_prints_the_password_it_made(no_superuser_variables):
    no_superuser_variables.setenv("DJANGO_SUPERUSER_USERNAME", "captain")
    out = ensure_admin()
    password = PASSWORD_LINE.search(out).group(1)
    assert get_user_model().objects.get(username="captain").check_password(password)


@pytest.mark.django_db
def test_ensure_admin_leaves_an_existing_superuser_alone(no_superuser_variables):
    get_user_model().objects.create_superuser(username="first", password="kept-password-1")
    no_superuser_variables.setenv("DJANGO_SUPERUSER_USERNAME", "second")
    no_superuser_variables.setenv("DJANGO_SUPERUSER_PASSWORD", "other-password-2")
    assert ensure_admin() == ""
    assert list(get_user_model().objects.values_list("username", flat=True)) == ["first"]
    assert get_user_model().objects.get().check_password("kept-password-1")


def test_manage_py_ensure_admin_prints_the_password_once_across_runs(tmp_path):
    env = {"BERTH_DATA_DIR": str(tmp_path)}
    migrated = manage("migrate", "--noinput", "-v0", env=env)
    assert migrated.returncode == 0, migrated.stderr
    first = manage("ensure_admin", env=env)
    assert first.returncode == 0, first.stderr
    assert "Created the first admin: admin" in first.stdout
    assert PASSWORD_LINE.search(first.stdout)
    second = manage("ensure_admin", env=env)
    assert second.returncode == 0, second.stderr
    assert second.stdout == ""


# --- settings ---------------------------------------------------------------------------------


def production_env(tmp_path: Path) -> dict[str, str]:
    alphabet = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
    return {
        "DJANGO_SECRET_KEY": "".join(secrets.choice(alphabet) for _ in range(50)),
        "BERTH_HTTPS": "true",
        "DJANGO_DEBUG": "false",
        "BERTH_DATA_DIR": str(tmp_path),
    }


def test_production_settings_pass_check_deploy_without_a_warning(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNINGS" not in result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_settings_need_no_secret_key_file(tmp_path):
    result = manage("check", "--deploy", env=production_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "secret_key").exists()


SHOW_SETTINGS = (
    "import json; from django.conf import settings as s; print(json.dumps({k: getattr(s, k) "
    "for k in ('DEBUG', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_SSL_REDIRECT', "
    "'SECURE_HSTS_SECONDS', 'SECURE_HSTS_PRELOAD', 'ALLOWED_HOSTS')}))"
)


def test_default_settings_serve_plain_http_on_localhost_as_make_run_does(tmp_path):
    result = manage(
        "shell", "--no-imports", "-c", SHOW_SETTINGS, env={"BERTH_DATA_DIR": str(tmp_path)}
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "DEBUG": False,
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 0,
        "SECURE_HSTS_PRELOAD": False,
        "ALLOWED_HOSTS": ["127.0.0.1", "localhost"],
    }


def test_default_settings_keep_a_generated_secret_key_private_in_the_data_folder(tmp_path):
    result = manage("check", env={"BERTH_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    key = tmp_path / "secret_key"
    assert len(key.read_text().strip()) >= 50
    assert key.stat().st_mode & 0o777 == 0o600


def test_https_settings_make_cookies_secure_and_send_hsts(tmp_path):
    result = manage("shell", "--no-imports", "-c", SHOW_SETTINGS, env=production_env(tmp_path))
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["SESSION_COOKIE_SECURE"] and shown["CSRF_COOKIE_SECURE"]
    assert shown["SECURE_SSL_REDIRECT"]
    assert shown["SECURE_HSTS_SECONDS"] >= 31536000
