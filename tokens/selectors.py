"""Reads about tokens that more than one place needs: one home for each rule."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from django.db.models import Q

# A datetime for pages and the API; epoch seconds (float) in the relay, which keeps its
# token records in that form so a request compares two floats.
When = TypeVar("When", datetime, float)


def is_expired(expires_at: When | None, now: When) -> bool:
    """A token expires AT its time: from that instant on it is refused. None never expires."""
    return expires_at is not None and expires_at <= now


def expired_q(now: datetime) -> Q:
    """The same rule as `is_expired`, as a filter on Token rows."""
    return Q(expires_at__isnull=False, expires_at__lte=now)


def has_spending_limit(
    quota_limit: int | None, daily_budget: int | None, monthly_budget: int | None
) -> bool:
    """A token with a quota or a budget: the relay reserves its requests' cost before sending
    them, and refuses models without a price (so no limit is bypassed through one)."""
    return quota_limit is not None or daily_budget is not None or monthly_budget is not None
