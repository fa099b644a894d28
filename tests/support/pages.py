"""Assertions shared by the admin pages' view tests."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

HTMX = {"HX-Request": "true"}


def assert_login_redirect(response: Any, path: str) -> None:
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == "/login/"
    assert parse_qs(location.query)["next"] == [path]


def assert_forbidden(response: Any) -> None:
    assert response.status_code == 403
    assert "not an administrator" in response.content.decode()


def shown_key(body: str) -> str:
    """The new key a "created" page shows once, in its read-only box."""
    marker = 'id="new-key" class="mono secret" value="'
    start = body.index(marker) + len(marker)
    return body[start : body.index('"', start)]
