"""Makes the first superuser when there is none, showing its password once, never in a log."""

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

# The controlling terminal: still the person's screen when standard output goes to a log.
TERMINAL = "/dev/tty"
PASSWORD_FILE = "first-admin-password"


class Command(BaseCommand):
    help = "Create a first superuser if none exists (DJANGO_SUPERUSER_* variables override)."

    def handle(self, *args, **options) -> None:
        users = get_user_model()
        if users.objects.filter(is_superuser=True).exists():
            return
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME") or "admin"
        email = os.environ.get("DJANGO_SUPERUSER_EMAIL", "")
        given = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        password = given or secrets.token_urlsafe(12)
        users.objects.create_superuser(username=username, email=email, password=password)
        self.stdout.write(self.style.SUCCESS(f"Created the first admin: {username}"))
        if not given:
            self.hand_over(password)

    def hand_over(self, password: str) -> None:
        """Shows the password to the person who started Berth, keeping it out of any log that
        standard output may be going to: the terminal if there is one, else a private file."""
        shown = (
            f"Its password, shown this once: {password}\n"
            "Change it after signing in: /admin/password_change/"
        )
        if self.stdout.isatty():
            self.stdout.write(shown)
            return
        if to_terminal(shown + "\n"):
            self.stdout.write(f"Its password was shown on the terminal ({TERMINAL}), not here.")
            return
        path = Path(settings.DATA_DIR) / PASSWORD_FILE
        # 0600 from creation; a file left by an earlier first admin is replaced, links refused.
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
        descriptor = os.open(path, flags, 0o600)
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(password + "\n")
        self.stdout.write(
            f"Its password is in {path}; delete that file after signing in, "
            "and change the password (/admin/password_change/)."
        )


def to_terminal(text: str) -> bool:
    """Writes to the controlling terminal; False when there is none (a service, a cron job)."""
    try:
        with Path(TERMINAL).open("w") as terminal:
            terminal.write(text)
    except OSError:
        return False
    return True
