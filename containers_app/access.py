"""Who may see or do what. Pure functions: no database or engine calls here.

Signed-in users may look at everything; staff (the team admins) may change things and see
secret values; only superusers may create volumes that can reach the host's own files.
"""

from typing import Protocol

VIEW = "view"
CHANGE = "change"
# The values of secret-looking environment variables (masking.py decides which look secret).
SEE_SECRETS = "see secrets"
# A volume of any driver, or with the local driver's mount options (type=none o=bind
# device=/any/host/path mounts any host folder into a container): as good as root on the host.
ANY_VOLUME = "create any volume"


class Person(Protocol):
    is_authenticated: bool
    is_active: bool
    is_staff: bool
    is_superuser: bool


def allowed(user: Person, action: str) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    if action == VIEW:
        return True
    if action in (CHANGE, SEE_SECRETS):
        return bool(user.is_staff)
    if action == ANY_VOLUME:
        return bool(user.is_staff and user.is_superuser)
    return False
