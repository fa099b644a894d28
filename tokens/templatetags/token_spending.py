"""`{% with spending=token|spending %}`: what a token has spent and may spend, as the token
pages show it (amounts in settings.CURRENCY, today and this month in TOLLGATE_TIME_ZONE)."""

from __future__ import annotations

from dataclasses import dataclass

from django import template
from django.conf import settings
from django.utils import timezone

from core.money import display_money
from tokens.models import Token

register = template.Library()


@dataclass(frozen=True, slots=True)
class Spending:
    """Amounts spent carry the currency ("USD 1.20"); limits are bare ("5.00") as they follow
    a spent amount ("USD 1.20 / 5.00"); a limit of None is unlimited."""

    quota_used: str
    quota_limit: str | None
    reserved: str
    today_used: str
    daily_budget: str | None
    month_used: str
    monthly_budget: str | None


def _bare(units: int | None, currency: str) -> str | None:
    if units is None:
        return None
    return display_money(units, currency).removeprefix(f"{currency} ")


@register.filter
def spending(token: Token) -> Spending:
    currency = settings.CURRENCY
    today = timezone.localdate()
    # What requests in flight hold: every reservation is held against the quota counter,
    # whether or not the token has a quota, so this one number covers them all.
    return Spending(
        quota_used=display_money(token.quota_used, currency),
        quota_limit=_bare(token.quota_limit, currency),
        reserved=display_money(token.quota_reserved, currency),
        today_used=display_money(token.daily_used_on(today), currency),
        daily_budget=_bare(token.daily_budget, currency),
        month_used=display_money(token.monthly_used_in(today.replace(day=1)), currency),
        monthly_budget=_bare(token.monthly_budget, currency),
    )
