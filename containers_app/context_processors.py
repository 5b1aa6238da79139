"""Template context every page shares."""

from django.http import HttpRequest

from containers_app import access
from containers_app.engine import default_engine


def engine(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    return {
        "engine": default_engine(),
        "can_change": user is not None and access.allowed(user, access.CHANGE),
    }
