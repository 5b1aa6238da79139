"""The audit page: every change made through Berth and every attempt access refused, newest
first, filtered; its CSV export. Superusers see every entry, team admins their teams'."""

import csv
import io
from collections.abc import Iterable

from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from containers_app import audit, rows
from containers_app.consumers.auth import database_call
from containers_app.forms import AuditFilterForm
from containers_app.models import AuditEntry
from containers_app.views.common import can_view, refused

PAGE_SIZE = 50
AUDIT_REFUSED = "Only superusers and team admins may read the audit trail."
CSV_COLUMNS = (
    "time",
    "user",
    "team",
    "engine",
    "action",
    "object",
    "object id",
    "command",
    "result",
    "message",
)
# Entries read from the database at a time while exporting.
EXPORT_BLOCK = 500
# What makes a spreadsheet read a cell as a formula (CSV injection), tab and carriage return
# included: some spreadsheets skip them before looking at the next character.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def visible_or_refused(request: HttpRequest) -> QuerySet:
    """The entries this user may see; a 403 (recorded as a denied attempt) if none."""
    entries = audit.visible_entries(request.user)
    if entries is None:
        raise refused(request, AUDIT_REFUSED)
    return entries


def _query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _refused_filters(request: HttpRequest, form: AuditFilterForm) -> HttpResponse:
    """The page with the filters' errors and no entries: a 400, nothing was read."""
    context = {"form": form, "page": None, "entries": [], "query": ""}
    return render(request, "audit/list.html", context, status=400)


@can_view
@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    entries = visible_or_refused(request)
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return _refused_filters(request, form)
    found = audit.matching(entries, form.filters())
    page = Paginator(found, PAGE_SIZE).get_page(form.cleaned_data["page"] or 1)
    context = {
        "form": form,
        "page": page,
        "entries": rows.audit_rows(page.object_list),
        "query": _query_without_page(request),
    }
    return render(request, "audit/list.html", context)


@can_view
@require_GET
def audit_export(request: HttpRequest) -> HttpResponse:
    entries = visible_or_refused(request)
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return _refused_filters(request, form)
    body = AuditCsv(audit.matching(entries, form.filters()))
    response = StreamingHttpResponse(body, content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="berth-audit-{stamp}.csv"'
    return response


def csv_cell(value: str) -> str:
    """A cell as a spreadsheet shows it, as text: one that would be read as a formula gets a
    leading apostrophe."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def csv_lines(records: Iterable[Iterable[str]]) -> bytes:
    """CSV lines, every cell defused with csv_cell."""
    out = io.StringIO()
    writer = csv.writer(out)
    for record in records:
        writer.writerow([csv_cell(value) for value in record])
    return out.getvalue().encode()


def csv_record(entry: AuditEntry) -> tuple[str, ...]:
    return (
        timezone.localtime(entry.created).isoformat(),
        entry.username,
        entry.team,
        entry.engine,
        entry.action,
        entry.target,
        entry.object_id,
        entry.command,
        audit.result_of(entry),
        entry.message,
    )


class AuditCsv:
    """The entries as CSV, an async iterator of blocks for StreamingHttpResponse: under
    ASGI, Django reads a synchronous iterator whole before it sends a byte. Each block is
    EXPORT_BLOCK entries read by a query of its own (after the last one sent, in the page's
    order), off the event loop, only when the one before was taken: a cursor kept open for
    as long as a slow client reads (`.iterator()`) would hold a database thread, and on
    SQLite a read lock that writers wait behind."""

    def __init__(self, entries: QuerySet) -> None:
        self.entries = entries  # ordered newest first: audit.visible_entries
        self.last: tuple | None = None
        self.started = False
        self.ended = False

    def __aiter__(self) -> "AuditCsv":
        return self

    async def __anext__(self) -> bytes:
        if not self.started:
            self.started = True
            return csv_lines([CSV_COLUMNS])
        if self.ended:
            raise StopAsyncIteration
        block = await database_call(self._read)
        if not block:
            raise StopAsyncIteration
        return block

    def _read(self) -> bytes:
        entries = self.entries
        if self.last is not None:
            created, pk = self.last
            entries = entries.filter(Q(created__lt=created) | Q(created=created, pk__lt=pk))
        found = list(entries[:EXPORT_BLOCK])
        self.ended = len(found) < EXPORT_BLOCK
        if found:
            self.last = (found[-1].created, found[-1].pk)
        return csv_lines(csv_record(entry) for entry in found)
