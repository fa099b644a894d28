"""`{% load dashboard_format %}`: amounts as the dashboard shows them.

`{{ units|money }}` (settings.CURRENCY, core.money.display_money), `{{ n|count }}` (grouped
digits in the page's language).
"""

from __future__ import annotations

from django import template
from django.conf import settings
from django.utils.formats import number_format

from channels_admin.templatetags.channel_health import one_decimal
from core.money import display_money

register = template.Library()


@register.filter
def money(units: int | None) -> str:
    return display_money(units, settings.CURRENCY)


@register.filter
def count(value: int | None) -> str:
    return number_format(value or 0, force_grouping=True)


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{number_format(one_decimal(value), 1)}%"
