"""The audit page's new entries, live: rows rendered with the page's own partial, for the
entries this user may see that match the page's filters (its query string).

Server sends {"rows": "<tr>..."} (newest first; a row whose id the page shows replaces it)
and {"skipped": n} when entries were written faster than this viewer took them. Only
entries written by this server process arrive (see streams/audit_feed.py).
"""

import asyncio
import json
import logging

from django.db import DatabaseError
from django.http import QueryDict
from django.template.loader import render_to_string

from containers_app import access, audit, rows
from containers_app.consumers.auth import database_call
from containers_app.consumers.base import CLOSE_REFUSED, Consumer
from containers_app.forms import AuditFilterForm
from containers_app.streams import audit_feed

CLOSE_BAD_REQUEST = 4400
# The feed failed (the database did not answer): the page connects again and catches up.
CLOSE_FAILED = 1011
log = logging.getLogger(__name__)
# The most rows sent on connecting (those written after the page's newest): the page keeps
# no more than that anyway.
CATCH_UP = 500


def rendered_rows(user, filters: dict, ids: list[int] | None = None) -> str | None:
    """The rows of the entries (of `ids`, or the newest CATCH_UP) that `user` may see and
    that match `filters`; "" if none, None if the user may see no entry any more. Visibility
    is looked up again each time: a team admin who stops being one stops getting rows."""
    entries = audit.visible_entries(user)
    if entries is None:
        return None
    entries = audit.matching(entries, filters)
    entries = entries.filter(pk__in=ids) if ids is not None else entries[:CATCH_UP]
    found = rows.audit_rows(entries)
    return render_to_string("audit/_rows.html", {"entries": found}) if found else ""


class AuditConsumer(Consumer):
    subscription: audit_feed.Subscription | None = None
    task: asyncio.Task | None = None

    async def connect(self) -> None:
        user = self.scope["user"]
        if not access.allowed(await self.actor(), access.VIEW):
            await self.close(code=CLOSE_REFUSED)
            return
        form = AuditFilterForm(QueryDict(self.scope["query_string"].decode()))
        if not form.is_valid():
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        if access.audit_scope(await self.actor()) is None:
            await self.close(code=CLOSE_REFUSED)
            return
        await self.accept()
        # Subscribed before catching up, so nothing written in between is missed; an entry
        # both caught up and published is sent twice and replaces its own row.
        self.subscription = audit_feed.subscribe()
        self.task = asyncio.create_task(self._forward(user, form.filters()))

    async def _forward(self, user, filters: dict) -> None:
        try:
            await self._follow(user, filters)
        except DatabaseError:
            log.exception("the audit feed of %s failed", user.get_username())
            await self.close(code=CLOSE_FAILED)

    async def _follow(self, user, filters: dict) -> None:
        assert self.subscription is not None
        # `after` is where the page's rows end; it is not a filter of what comes next, where
        # an older entry that changed (a terminal that ended) replaces its row.
        after = filters.pop("after", None)
        html = ""
        if after is not None:
            html = await database_call(rendered_rows, user, {**filters, "after": after})
        while True:
            if html is None:
                await self.close(code=CLOSE_REFUSED)
                return
            if html:
                await self.send_json({"rows": html})
            skipped = self.subscription.take_dropped()
            if skipped:
                await self.send_json({"skipped": skipped})
            ids = await self.subscription.next_batch()
            html = await database_call(rendered_rows, user, filters, ids)

    async def send_json(self, message: dict) -> None:
        await self.send(text_data=json.dumps(message))

    async def disconnect(self, code: int) -> None:
        if self.subscription is not None:
            audit_feed.unsubscribe(self.subscription)
        if self.task is not None:
            self.task.cancel()
