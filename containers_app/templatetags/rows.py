"""`{% include_rows %}`: a row partial drawn for thousands of rows at a fraction of the cost.

The template engine spends some 10 µs on every `{{ variable }}`; a containers list of 1,000
rows with 30 of them each took half a second. `include_rows` renders the partial once per
*shape* of row instead, with a marker in place of each value, and then draws every row of
that shape by putting its escaped values where the markers were.

A shape is what the partial may branch on: the fields named in `branch` (say `state`) and
which fields are empty. So a row partial drawn this way may test `c.state` and whether a
field is empty, and must print every other field as it is, without filters: work out what
it shows beforehand (see containers_app/rows.py ContainerRow). Each shape's first row is also
drawn by the template engine and compared; a partial that breaks the rule is drawn row by
row the slow way, with a warning in the log.
"""

import html
import logging
import re
from collections.abc import Mapping, Sequence

from django import template
from django.template.base import Template, render_value_in_context
from django.template.context import Context
from django.utils.safestring import SafeString, mark_safe

register = template.Library()
log = logging.getLogger(__name__)

MARKER = re.compile("\x00([A-Za-z_][A-Za-z0-9_]*)\x00")
# Shapes that failed the comparison: the slow way for them from then on.
SLOW = object()


@register.simple_tag(takes_context=True)
def include_rows(
    context: Context,
    template_name: str,
    rows: Sequence[Mapping[str, object]],
    item: str = "c",
    branch: str = "state",
) -> SafeString:
    """`{% include_rows "x/_row.html" rows item="c" branch="state" %}` draws what
    `{% for c in rows %}{% include "x/_row.html" %}{% endfor %}` draws."""
    partial = context.template.engine.get_template(template_name)
    branches = tuple(b for b in branch.split(",") if b)
    shapes: dict[tuple, str | object] = {}
    out = []
    for row in rows:
        # An empty value's type tells how it prints ("", None, 0, []).
        key = (*(row[b] for b in branches), *(True if v else type(v) for v in row.values()))
        shape = shapes.get(key)
        if shape is None:
            shape = shapes[key] = _shape(context, partial, item, row, branches)
        if shape is SLOW:
            with context.push({item: row}):
                out.append(partial.render(context))
        else:
            out.append(shape.format_map(_Values(row, context)))
    return mark_safe("".join(out))


def _shape(
    context: Context, partial: Template, item: str, row: Mapping[str, object], branches
) -> str | object:
    """The partial drawn for rows like `row`, as a format string with a field per value."""
    marked = {k for k, v in row.items() if v and k not in branches}
    markers = {k: (f"\x00{k}\x00" if k in marked else v) for k, v in row.items()}
    with context.push({item: markers}):
        drawn = partial.render(context)
    pieces = MARKER.split(drawn)
    if not marked.issuperset(pieces[1::2]):  # a filter changed a marker, say |upper
        return _slow(partial)
    # split() alternates text and field names; braces in the text are literal.
    shape = "".join(
        p.replace("{", "{{").replace("}", "}}") if i % 2 == 0 else "{" + p + "}"
        for i, p in enumerate(pieces)
    )
    with context.push({item: row}):
        expected = partial.render(context)
    if shape.format_map(_Values(row, context)) != expected:
        return _slow(partial)
    return shape


def _slow(partial: Template) -> object:
    log.warning(
        "%s does more with a row's values than print them or test them for being empty; "
        "drawing its rows one by one (slow). See containers_app/templatetags/rows.py.",
        partial.origin.template_name,
    )
    return SLOW


class _Values(dict):
    """A row's values as `{{ c.field }}` prints them, worked out when the shape asks."""

    __slots__ = ("context", "row")

    def __init__(self, row: Mapping[str, object], context: Context) -> None:
        self.row = row
        self.context = context

    def __missing__(self, key: str) -> str:
        value = self.row[key]
        if type(value) is str:  # the common case, as render_value_in_context would do it
            text = html.escape(value) if self.context.autoescape else value
        else:
            text = render_value_in_context(value, self.context)
        self[key] = text  # a row prints its id and name many times
        return text
