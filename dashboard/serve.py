"""`python -m dashboard.serve`: daphne, with wall screens' secret links kept out of its access
log. Daphne writes every request's path there, and a screen's link (/screens/<token>/) is
as good as a password for as long as the screen lives.

It refuses to start under versions of Django, Channels or daphne that containers_app/compat.py
was not written for: daphne runs none of Django's system checks, so this runs that one."""

import re
import sys

from containers_app import compat

# The shape of containers_app.screens.TOKEN_PATTERN, without importing Django before it is set up.
SCREEN_LINK = re.compile(r"/screens/[A-Za-z0-9_-]{16,128}(?=/|\?|$)")
HIDDEN = "/screens/<token>"


def redacted(path: str) -> str:
    """`path` as the access log may show it: a screen link without its token."""
    return SCREEN_LINK.sub(HIDDEN, path)


class RedactedAccessLog(compat.PathRewritingAccessLog):
    rewrite_path = staticmethod(redacted)


def version_problems() -> str:
    """What compat's start-up check found wrong, as the check command prints it; or ""."""
    return "\n".join(
        f"{error.id}: {error.msg}\n\tHINT: {error.hint}" for error in compat.check_versions()
    )


def main() -> None:
    problems = version_problems()
    if problems:
        sys.exit(f"Berth will not start:\n{problems}")
    compat.run_daphne(RedactedAccessLog)


if __name__ == "__main__":
    sys.exit(main())
