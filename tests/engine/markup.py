"""Small readers of the HTML Berth serves, for the engine tests' assertions."""

import re

from django.http import HttpResponse
from django.utils.html import escape


def page(response: HttpResponse) -> str:
    return response.content.decode()


def shows(response: HttpResponse, text: str) -> bool:
    """Whether the page holds `text` as Django's autoescape renders it."""
    return escape(text) in page(response)


def row(response: HttpResponse, data_id: str) -> str | None:
    """The markup of the table row whose data-id is `data_id`, or None if there is none."""
    found = re.search(
        rf'<tr\b[^>]*\bdata-id="{re.escape(escape(data_id))}"[^>]*>.*?</tr>', page(response), re.S
    )
    return found.group(0) if found else None


def data_ids(response: HttpResponse) -> list[str]:
    return re.findall(r'<tr\b[^>]*\bdata-id="([^"]*)"', page(response))


def flash(response: HttpResponse) -> str:
    """The message an htmx reply swaps in out of band."""
    found = re.search(
        r'<div id="messages" hx-swap-oob="innerHTML"[^>]*><div class="flash [a-z]+">(.*?)</div>',
        page(response),
        re.S,
    )
    assert found, page(response)
    return found.group(1)
