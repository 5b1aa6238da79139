"""Single-use tickets that bind a terminal's websocket to what a signed-in user asked for.

The terminal form is a POST (it carries the CSRF token); its answer holds a ticket naming the
user, the container and exactly what will run there: the command, the user and the working
directory. The websocket must present it within a minute, from the same user, for the same
container, and runs what the ticket says, never what its query string says. Each ticket opens
one terminal: the audit entry of the terminal it opened keeps its nonce, unique.
"""

import secrets
from dataclasses import dataclass

from django.core import signing

SALT = "berth.exec-ticket"
MAX_AGE_SECONDS = 60


@dataclass(frozen=True)
class ExecGrant:
    """What a ticket allows: one terminal running `command` as `user` in `workdir`."""

    command: tuple[str, ...]
    user: str
    workdir: str
    nonce: str


def issue(
    *, user_id: int, container_id: str, command: list[str], user: str = "", workdir: str = ""
) -> str:
    data = {
        "u": user_id,
        "c": container_id,
        "cmd": list(command),
        "user": user,
        "wd": workdir,
        "n": secrets.token_urlsafe(16),
    }
    return signing.dumps(data, salt=SALT, compress=True)


def grant(ticket: str, *, user_id: int, container_id: str) -> ExecGrant | None:
    """What `ticket` allows this user on this container, or None if it is forged, expired or
    issued to someone or something else. Whether it was already used is the audit's to say."""
    try:
        data = signing.loads(ticket, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:  # includes SignatureExpired
        return None
    if not isinstance(data, dict) or (data.get("u"), data.get("c")) != (user_id, container_id):
        return None
    return ExecGrant(
        command=tuple(data["cmd"]), user=data["user"], workdir=data["wd"], nonce=data["n"]
    )
