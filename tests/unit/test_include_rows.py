"""`{% include_rows %}` draws exactly what a loop of `{% include %}` draws, only faster."""

import itertools
import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.template import engines

from containers_app.engine.containers import STATES, ContainerSummary
from containers_app.views.containers import container_rows

# What names, images, commands and statuses may hold that HTML must escape.
AWKWARD = ["sh -c \"echo <b> & 'x'\"", "{braces} {{ and }} %s {0}", "\x00marker\x00", ""]


def summary(n: int, state: str, command: str, ports: tuple[str, ...]) -> ContainerSummary:
    return ContainerSummary(
        id=f"{n:064x}",
        name=f"c{n}",
        names=(f"c{n}",),
        image="example/<image>:1",
        image_id="sha256:" + "0" * 64,
        command=command,
        created=datetime.now(UTC) - timedelta(minutes=n) if n % 7 else None,
        state=state,
        status=f"Status & {state}",
        ports=ports,
        labels={},
    )


def varied_rows() -> list:
    shapes = itertools.product(STATES, AWKWARD, [(), ("127.0.0.1:8080->80/tcp", "443/tcp")])
    return container_rows(summary(n, *shape) for n, shape in enumerate(shapes))


def render(source: str, **context) -> str:
    return engines["django"].from_string(source).render(context)


LOOP = '{% for c in rows %}{% include "containers/_row.html" %}{% endfor %}'
FAST = '{% load rows %}{% include_rows "containers/_row.html" rows item="c" branch="state" %}'


@pytest.mark.parametrize("can_change", [True, False])
def test_it_draws_the_container_rows_as_a_loop_of_includes_does(can_change, caplog):
    rows = varied_rows()

    with caplog.at_level(logging.WARNING, logger="containers_app.templatetags.rows"):
        fast = render(FAST, rows=rows, can_change=can_change)

    assert fast == render(LOOP, rows=rows, can_change=can_change)
    assert fast.count("<tr id=") == len(rows)
    assert "&lt;b&gt; &amp; &#x27;x&#x27;" in fast
    assert not caplog.records


def test_it_draws_nothing_for_no_rows():
    assert render(FAST, rows=[], can_change=True) == ""


def test_a_partial_that_filters_a_value_is_drawn_row_by_row_and_still_right(
    settings, tmp_path, caplog
):
    (tmp_path / "filtered.html").write_text("<p>{{ c.name|upper }}{% if c.ports %}!{% endif %}</p>")
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], tmp_path]}
    ]
    rows = varied_rows()[:20]

    with caplog.at_level(logging.WARNING, logger="containers_app.templatetags.rows"):
        fast = render(
            '{% load rows %}{% include_rows "filtered.html" rows %}', rows=rows, can_change=True
        )

    loop = render('{% for c in rows %}{% include "filtered.html" %}{% endfor %}', rows=rows)
    assert fast == loop
    assert "<p>C1!</p>" in fast
    assert "filtered.html" in caplog.text
