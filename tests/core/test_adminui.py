"""core.adminui: page-or-fragment answers and values kept for exactly one view."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from core import adminui
from core.adminui import (
    is_fragment_request,
    keep_for_one_view,
    render_page_or_fragment,
    take_kept_value,
)

pytestmark = pytest.mark.django_db


def _request(**headers: str) -> Any:
    request = RequestFactory().get("/tokens/", headers=headers)
    from django_htmx.middleware import HtmxDetails

    request.htmx = HtmxDetails(request)
    request.session = SessionStore()
    return request


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [
        ({}, False),
        ({"HX-Request": "true"}, True),
        ({"HX-Request": "true", "HX-History-Restore-Request": "true"}, False),
        ({"HX-Request": "true", "HX-Boosted": "true"}, False),
    ],
)
def test_which_requests_get_a_fragment(headers: dict[str, str], fragment: bool) -> None:
    assert is_fragment_request(_request(**headers)) is fragment


def test_both_answers_vary_on_hx_request_and_only_fragments_push_the_tidy_url() -> None:
    page = render_page_or_fragment(
        _request(), "adminui/_form_errors.html", "adminui/_pagination.html", {}, push_url="/t/"
    )
    fragment = render_page_or_fragment(
        _request(**{"HX-Request": "true"}),
        "adminui/_form_errors.html",
        "adminui/_pagination.html",
        {},
        push_url="/t/",
    )
    assert "HX-Request" in page["Vary"] and "HX-Request" in fragment["Vary"]
    assert "HX-Push-Url" not in page
    assert fragment["HX-Push-Url"] == "/t/"


def test_a_kept_value_is_taken_once_and_waits_encrypted() -> None:
    request = _request()
    keep_for_one_view(request, "token-created:7", {"key": "sk-secret-value"})
    assert "sk-secret-value" not in str(dict(request.session.items()))
    assert take_kept_value(request, "token-created:8") is None
    assert take_kept_value(request, "token-created:7") == {"key": "sk-secret-value"}
    assert take_kept_value(request, "token-created:7") is None
    assert "adminui.once" not in request.session


def test_a_value_nobody_came_for_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    request = _request()
    now = 1_000_000.0
    monkeypatch.setattr(adminui.time, "time", lambda: now)
    keep_for_one_view(request, "old", {"key": "sk-old"})
    now += adminui.ONCE_MAX_AGE_SECONDS + 1
    keep_for_one_view(request, "new", {"key": "sk-new"})
    # Keeping the new one dropped the stale one.
    assert set(request.session["adminui.once"]) == {"new"}
    assert take_kept_value(request, "old") is None
    assert take_kept_value(request, "new") == {"key": "sk-new"}
