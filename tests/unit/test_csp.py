"""The Content Security Policy: no inline script and no eval anywhere, so markup that slips
into a page (a container's name, a log line) cannot run."""

import json
import re
from pathlib import Path

import pytest

from containers_app.csp import POLICY

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def directives() -> dict[str, list[str]]:
    found = {}
    for part in POLICY.split(";"):
        name, *values = part.split()
        found[name] = values
    return found


def test_scripts_come_only_from_the_site_itself():
    policy = directives()
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-eval'" not in POLICY


@pytest.mark.django_db
def test_every_response_carries_the_policy(client):
    response = client.get("/accounts/login/")

    assert response["Content-Security-Policy"] == POLICY


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=str)
def test_no_template_holds_inline_script(template):
    markup = template.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", markup), "an inline <script>"
    assert not re.search(r"\son[a-z]+\s*=", markup), "an inline event handler"
    assert "javascript:" not in markup
    assert "hx-on" not in markup


def test_htmx_is_told_not_to_eval():
    base = (TEMPLATES / "base.html").read_text()
    config = json.loads(re.search(r"name=\"htmx-config\" content='([^']*)'", base).group(1))
    assert config["allowEval"] is False
    assert config["allowScriptTags"] is False
