"""Sign-in pages of our own: the refusal shown while failed sign-ins have locked one out."""

import math

from axes.helpers import get_cool_off
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def locked_out(
    request: HttpRequest, response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """django-axes' AXES_LOCKOUT_CALLABLE: a 429 page in the site's style naming the way out,
    the same for the dashboard's sign-in and the admin's."""
    seconds = int(get_cool_off(request).total_seconds())
    minutes = math.ceil(seconds / 60)
    context = {
        "status": 429,
        "title": "Too many failed sign-ins",
        "reason": "Too many failed sign-ins for this account or address.",
        "way_out": f"Try again in {minutes} minute{'s' if minutes != 1 else ''}, "
        "or ask an administrator to unlock it.",
    }
    refused = render(request, "error.html", context, status=429)
    refused["Retry-After"] = str(seconds)
    return refused
