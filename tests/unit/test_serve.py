"""`python -m dashboard.serve`: daphne's access log without wall screens' tokens."""

import io
import re

from dashboard.serve import RedactedAccessLog, redacted


def test_a_screen_link_is_logged_without_its_token():
    stream = io.StringIO()
    log = RedactedAccessLog(stream)
    token = "s3cr3t-T0ken_abcdefghijklmnop"

    log(
        "http",
        "complete",
        {
            "path": f"/screens/{token}/",
            "status": 302,
            "method": "GET",
            "client": "127.0.0.1:5000",
            "time_taken": 0.01,
            "size": 0,
        },
    )

    line = stream.getvalue()
    assert token not in line
    assert re.search(r'"GET /screens/<token>/" 302', line), line


def test_a_screen_link_without_its_slash_or_with_a_query_is_logged_without_its_token():
    token = "s3cr3t-T0ken_abcdefghijklmnop"

    assert redacted(f"/screens/{token}") == "/screens/<token>"
    assert redacted(f"/screens/{token}/?x=1") == "/screens/<token>/?x=1"


def test_other_paths_are_logged_as_they_are():
    assert redacted("/screens/") == "/screens/"
    assert redacted("/screens/12/rotate/") == "/screens/12/rotate/"
    assert redacted("/containers/web/") == "/containers/web/"
