"""`python -m dashboard.serve`: daphne, with wall screens' secret links kept out of its access
log. Daphne writes every request's path there, and a screen's link (/screens/<token>/) is
as good as a password for as long as the screen lives."""

import re
import sys

from daphne import cli
from daphne.access import AccessLogGenerator

# The shape of containers_app.screens.TOKEN_PATTERN, without importing Django before it is set up.
SCREEN_LINK = re.compile(r"/screens/[A-Za-z0-9_-]{16,128}(?=/|\?|$)")
HIDDEN = "/screens/<token>"


def redacted(path: str) -> str:
    """`path` as the access log may show it: a screen link without its token."""
    return SCREEN_LINK.sub(HIDDEN, path)


class RedactedAccessLog(AccessLogGenerator):
    def __call__(self, protocol, action, details) -> None:
        if isinstance(details.get("path"), str):
            details = {**details, "path": redacted(details["path"])}
        super().__call__(protocol, action, details)


def main() -> None:
    # Daphne builds its access logger from this name: ours replaces it for this process.
    cli.AccessLogGenerator = RedactedAccessLog
    cli.CommandLineInterface.entrypoint()


if __name__ == "__main__":
    sys.exit(main())
