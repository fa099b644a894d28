"""How upstream errors are told apart, and how Retry-After is read."""

from __future__ import annotations

import email.utils

import pytest

from gateway.relay.failures import (
    DEFAULT_FATAL_PATTERNS,
    Failure,
    classify,
    fatal_patterns_from_env,
    retry_after_seconds,
)


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (401, b'{"error": {"message": "Incorrect API key"}}', Failure.FATAL),
        (403, b"forbidden", Failure.FATAL),
        (429, b'{"error": {"code": "insufficient_quota", "message": "quota"}}', Failure.FATAL),
        (400, b'{"error": {"type": "billing_not_active"}}', Failure.FATAL),
        (403, '{"error": {"message": "余额不足"}}'.encode(), Failure.FATAL),
        (500, '{"message": "账户已欠费"}'.encode(), Failure.FATAL),
        (429, b'{"error": {"message": "Rate limit reached"}}', Failure.RATE_LIMITED),
        (404, b'{"error": {"code": "model_not_found", "message": "nope"}}', Failure.MODEL),
        (400, b'{"error": {"message": "The model `x` does not exist"}}', Failure.MODEL),
        (500, b"boom", Failure.TRANSIENT),
        (503, b"", Failure.TRANSIENT),
        (408, b"", Failure.TRANSIENT),
        (400, b'{"error": {"message": "max_tokens is too large"}}', Failure.CLIENT),
        (422, b"{}", Failure.CLIENT),
        (508, b"{}", Failure.CLIENT),
        (404, b'{"error": {"message": "Unknown path"}}', Failure.CLIENT),
    ],
)
def test_each_error_is_told_apart(status: int, body: bytes, kind: Failure) -> None:
    assert classify(status, body, DEFAULT_FATAL_PATTERNS) is kind


def test_the_patterns_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOLLGATE_FATAL_ERROR_PATTERNS", "card declined|Konto gesperrt")
    assert fatal_patterns_from_env() == ("card declined", "konto gesperrt")
    monkeypatch.setenv("TOLLGATE_FATAL_ERROR_PATTERNS", "+card declined")
    assert fatal_patterns_from_env() == (*DEFAULT_FATAL_PATTERNS, "card declined")
    monkeypatch.setenv("TOLLGATE_FATAL_ERROR_PATTERNS", "")
    assert fatal_patterns_from_env() == DEFAULT_FATAL_PATTERNS


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = 1_700_000_000.0
    assert retry_after_seconds("12", now) == 12
    assert retry_after_seconds(email.utils.formatdate(now + 90, usegmt=True), now) == 90
    assert retry_after_seconds(email.utils.formatdate(now - 90, usegmt=True), now) is None
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None
    assert retry_after_seconds("99999999", now) == 86400
