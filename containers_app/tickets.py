"""Short-lived tickets that bind an exec websocket to the user and container it was opened for.

The exec page issues one; the websocket must present it within a minute, from the same
signed-in user, for the same container. A leaked ticket is worthless to anyone else.
"""

from django.core import signing

SALT = "berth.exec-ticket"
MAX_AGE_SECONDS = 60


def issue(*, user_id: int, container_id: str) -> str:
    return signing.dumps({"u": user_id, "c": container_id}, salt=SALT, compress=True)


def valid(ticket: str, *, user_id: int, container_id: str) -> bool:
    try:
        data = signing.loads(ticket, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:  # includes SignatureExpired
        return False
    return data == {"u": user_id, "c": container_id}
