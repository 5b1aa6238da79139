"""The one place engine errors become HTTP responses."""

from django.core.exceptions import PermissionDenied
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from containers_app import health, jobs, uploads
from containers_app.credentials import CredentialUnreadable
from containers_app.engine import Conflict, EngineError, EngineUnavailable, InvalidRequest, NotFound
from containers_app.views.common import is_htmx

STATUS = [(EngineUnavailable, 503), (NotFound, 404), (Conflict, 409), (InvalidRequest, 400)]
TITLES = {
    503: "The Docker Engine is unavailable",
    404: "Not found",
    409: "Conflict",
    400: "The engine refused the request",
    502: "The engine failed",
}
WAY_OUT = {
    503: "Berth will reconnect by itself once the engine is back; reload this page then.",
    409: "Stop it first, remove what uses it, or use the force option where there is one.",
}


def status_of(error: EngineError) -> int:
    return next((status for kind, status in STATUS if isinstance(error, kind)), 502)


def error_response(request: HttpRequest, error: EngineError) -> HttpResponse:
    status = status_of(error)
    engine = getattr(request, "engine", None)
    if engine is not None and status in (502, 503):
        health.note_failure(engine, error.reason)  # the engine's health page tells
    context = {
        "status": status,
        "title": TITLES[status],
        "reason": error.reason,
        "way_out": WAY_OUT.get(status, ""),
        "engine_address": error.engine,
    }
    if is_htmx(request):
        # Only the message changes; what the request targeted stays as it was.
        context.update(flash=f"{TITLES[status]}: {error.reason}", flash_level="error")
        response = render(request, "_flash.html", context, status=status)
        response["HX-Reswap"] = "none"
        return response
    return render(request, "error.html", context, status=status)


def bad_request(request: HttpRequest, form: Form) -> HttpResponse:
    """A 400 naming what was wrong with a submitted form; nothing was done."""
    errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
    context = {
        "status": 400,
        "title": "Nothing was done",
        "reason": errors,
        "flash": f"Nothing was done: {errors}",
        "flash_level": "error",
    }
    template = "_flash.html" if is_htmx(request) else "error.html"
    response = render(request, template, context, status=400)
    response["HX-Reswap"] = "none"
    return response


class EngineErrorMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, EngineError):
            return error_response(request, exception)
        if isinstance(exception, PermissionDenied) and is_htmx(request):
            # A refused button (access decides on the server): the message, and what the
            # button targeted left as it was, not the whole 403 page swapped into a row.
            reason = str(exception) or "You may not do this."
            context = {"flash": f"Refused: {reason}", "flash_level": "error"}
            response = render(request, "_flash.html", context, status=403)
            response["HX-Reswap"] = "none"
            return response
        if isinstance(exception, jobs.TooMany):
            context = {"status": 429, "title": "Too many jobs", "reason": exception.reason}
            if is_htmx(request):
                context.update(flash=exception.reason, flash_level="error")
                response = render(request, "_flash.html", context, status=429)
                response["HX-Reswap"] = "none"
                return response
            return render(request, "error.html", context, status=429)
        if isinstance(exception, CredentialUnreadable):
            # A stored registry login the current key cannot decrypt: nothing was asked of
            # the engine, and the way out is to log in to that registry again.
            return error_response(request, Conflict(str(exception), engine=""))
        return None


class UploadCapMiddleware:
    """A request body above BERTH_UPLOAD_MAX_BYTES is answered 413, naming the cap, before a
    byte of it is read: listed before CSRF's check, which would read (and store) it whole."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view, args, kwargs) -> HttpResponse | None:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        reason = uploads.too_large(length)
        if not reason:
            return None
        context = {"status": 413, "title": "Upload too large", "reason": reason}
        response = render(request, "error.html", context, status=413)
        response["Connection"] = "close"  # the unread body is not waited for
        return response
