"""Who may see or do what. Pure functions: no database or engine calls here.

Signed-in users may look at everything; staff (the team admins) may change things.
"""

from typing import Protocol

VIEW = "view"
CHANGE = "change"


class Person(Protocol):
    is_authenticated: bool
    is_active: bool
    is_staff: bool


def allowed(user: Person, action: str) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    if action == VIEW:
        return True
    if action == CHANGE:
        return bool(user.is_staff)
    return False
