"""Setting Berth up: the first admin, a private data folder, and production settings that pass
`check --deploy`."""

import json
import os
import re
import secrets
import stat
import string
import subprocess
import sys
import threading
import time
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from containers_app.management.commands import ensure_admin as ensure_admin_command
from dashboard import datadir

ROOT = Path(__file__).resolve().parents[2]
PASSWORD_LINE = re.compile(r"^Its password, shown this once: (\S+)$", re.MULTILINE)


class Terminal(StringIO):
    """Standard output as when a person runs the command in a terminal."""

    def isatty(self) -> bool:
        return True


def ensure_admin(out: StringIO | None = None) -> str:
    out = Terminal() if out is None else out
    call_command("ensure_admin", stdout=out)
    return out.getvalue()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture(autouse=True)
def _no_controlling_terminal(monkeypatch, tmp_path):
    # Whoever runs the tests never sees a test's password on their own terminal.
    monkeypatch.setattr(ensure_admin_command, "TERMINAL", str(tmp_path / "no-terminal" / "tty"))


@pytest.fixture
def usual_umask():
    """The umask a login shell starts with; importing the settings set the test process's
    to 077, which would hide what the code under test does itself."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The real hasher takes seconds on a busy machine, and hashing is not what is tested here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def no_superuser_variables(monkeypatch):
    for name in ("USERNAME", "PASSWORD", "EMAIL"):
        monkeypatch.delenv(f"DJANGO_SUPERUSER_{name}", raising=False)
    return monkeypatch


def only(env: dict[str, str]) -> dict[str, str]:
    """The calling shell's environment without its Berth, Django and Docker variables, plus
    `env`, so nothing from the calling shell leaks into the settings."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "BERTH_", "DOCKER_"))
    }
    return {**clean, **env}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`python manage.py …` in a fresh process that sees only the given Berth and Django
    variables. It starts as a login shell would (umask 022) and with no controlling terminal,
    as under a service manager."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=only(env),
        capture_output=True,
        text=True,
        timeout=120,
        umask=0o022,
        start_new_session=True,
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


@pytest.mark.django_db
def test_ensure_admin_with_output_to_a_log_shows_the_password_on_the_terminal_instead(
    no_superuser_variables, tmp_path
):
    terminal = tmp_path / "tty"  # stands in for /dev/tty
    terminal.touch()
    no_superuser_variables.setattr(ensure_admin_command, "TERMINAL", str(terminal))
    out = ensure_admin(StringIO())
    password = PASSWORD_LINE.search(terminal.read_text()).group(1)
    assert get_user_model().objects.get(username="admin").check_password(password)
    assert "Created the first admin: admin" in out
    assert password not in out
    assert "shown on the terminal" in out


@pytest.mark.django_db
def test_ensure_admin_with_no_terminal_puts_the_password_in_a_private_file_and_prints_its_path(
    no_superuser_variables, settings, tmp_path, usual_umask
):
    settings.DATA_DIR = tmp_path
    out = ensure_admin(StringIO())
    handed_over = tmp_path / "first-admin-password"
    password = handed_over.read_text().strip()
    assert get_user_model().objects.get(username="admin").check_password(password)
    assert mode(handed_over) == 0o600
    assert password not in out
    assert f"Its password is in {handed_over}; delete that file after signing in" in out


@pytest.mark.django_db
def test_ensure_admin_replaces_a_password_file_left_readable_by_an_earlier_admin(
    no_superuser_variables, settings, tmp_path
):
    settings.DATA_DIR = tmp_path
    left = tmp_path / "first-admin-password"
    left.write_text("an-old-password-that-was-much-longer-than-the-new-one\n")
    left.chmod(0o644)
    ensure_admin(StringIO())
    password = left.read_text().strip()
    assert mode(left) == 0o600
    assert get_user_model().objects.get(username="admin").check_password(password)


def test_manage_py_ensure_admin_with_no_terminal_hands_the_password_over_once_in_a_file(
    tmp_path,
):
    env = {"BERTH_DATA_DIR": str(tmp_path)}
    migrated = manage("migrate", "--noinput", "-v0", env=env)
    assert migrated.returncode == 0, migrated.stderr
    first = manage("ensure_admin", env=env)
    assert first.returncode == 0, first.stderr
    assert "Created the first admin: admin" in first.stdout
    handed_over = tmp_path / "first-admin-password"
    password = handed_over.read_text().strip()
    assert len(password) >= 16
    assert password not in first.stdout + first.stderr
    assert str(handed_over) in first.stdout
    assert mode(handed_over) == 0o600
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


# --- the data folder ---------------------------------------------------------------------------


def tree_modes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): mode(p) for p in [folder, *folder.rglob("*")]}


def test_settings_set_a_private_umask_before_making_anything(tmp_path):
    data = tmp_path / "data"
    shown = subprocess.run(
        [sys.executable, "-c", "import os, dashboard.settings; print(oct(os.umask(0)))"],
        cwd=ROOT,
        env=only({"BERTH_DATA_DIR": str(data)}),
        capture_output=True,
        text=True,
        timeout=60,
        umask=0o022,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "0o77"
    assert tree_modes(data) == {".": 0o700, "secret_key": 0o600}


def test_migrate_on_a_fresh_data_folder_leaves_nothing_readable_to_others(tmp_path):
    data = tmp_path / "data"
    migrated = manage("migrate", "--noinput", "-v0", env={"BERTH_DATA_DIR": str(data)})
    assert migrated.returncode == 0, migrated.stderr
    modes = tree_modes(data)
    assert modes["."] == 0o700
    assert modes["berth.sqlite3"] == 0o600
    assert modes["secret_key"] == 0o600
    assert set(modes.values()) == {0o700, 0o600}


def test_starting_on_an_older_install_tightens_its_data_folder(tmp_path):
    data = tmp_path / "data"
    env = {"BERTH_DATA_DIR": str(data)}
    assert manage("migrate", "--noinput", "-v0", env=env).returncode == 0
    (data / "static" / "app").mkdir(parents=True)
    (data / "static" / "app" / "app.css").write_text("body {}")
    for path in [data, *data.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    checked = manage("check", env=env)
    assert checked.returncode == 0, checked.stderr
    assert tree_modes(data) == {
        ".": 0o700,
        "berth.sqlite3": 0o600,
        "secret_key": 0o600,
        "static": 0o700,
        "static/app": 0o700,
        "static/app/app.css": 0o600,
    }


def test_preparing_the_data_folder_makes_it_private_and_leaves_symbolic_links_alone(
    tmp_path, usual_umask
):
    outside = tmp_path / "outside.txt"
    outside.write_text("not Berth's")
    outside.chmod(0o644)
    data = tmp_path / "a" / "data"
    datadir.prepare(data)
    assert mode(data) == 0o700
    (data / "old.sqlite3").write_text("")
    (data / "old.sqlite3").chmod(0o664)
    (data / "cache").mkdir(mode=0o777)
    (data / "cache" / "entry").write_text("")
    (data / "link").symlink_to(outside)
    data.chmod(0o755)
    datadir.prepare(data)
    assert tree_modes(data) == {
        ".": 0o700,
        "old.sqlite3": 0o600,
        "cache": 0o700,
        "cache/entry": 0o600,
        "link": 0o777,
    }
    assert mode(outside) == 0o644


def test_the_generated_secret_key_is_private_from_its_creation(tmp_path):
    previous = os.umask(0)  # even when the process's umask would let everyone read it
    try:
        key = datadir.secret_key(tmp_path)
    finally:
        os.umask(previous)
    assert len(key) >= 50
    assert mode(tmp_path / "secret_key") == 0o600
    assert (tmp_path / "secret_key").read_text() == key
    assert datadir.secret_key(tmp_path) == key


def test_a_process_starting_while_another_writes_the_key_reads_that_key(tmp_path):
    # The other process has created the file (O_EXCL) but not yet written to it.
    path = tmp_path / "secret_key"
    path.touch(mode=0o600)
    key = secrets.token_urlsafe(50)

    def write_later() -> None:
        time.sleep(0.3)
        path.write_text(key)

    writer = threading.Thread(target=write_later)
    writer.start()
    try:
        assert datadir.secret_key(tmp_path) == key
    finally:
        writer.join()


def test_two_processes_starting_at_once_share_one_secret_key(tmp_path):
    data = tmp_path / "data"
    show_key = "from django.conf import settings; print(settings.SECRET_KEY)"
    starts = [
        subprocess.Popen(
            [sys.executable, "manage.py", "shell", "--no-imports", "-c", show_key],
            cwd=ROOT,
            env=only({"BERTH_DATA_DIR": str(data)}),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            umask=0o022,
        )
        for _ in range(4)
    ]
    keys = {start.communicate(timeout=120)[0].strip() for start in starts}
    assert keys == {(data / "secret_key").read_text()}
