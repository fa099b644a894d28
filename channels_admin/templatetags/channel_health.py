"""`{% load channel_health %}`: a channel's health as pages show it.

`{{ health|success_rate }}` ("98.5%", "—" without attempts) and `{{ health.latency_p50|ms }}`
("≤ 500 ms", "> 300000 ms"; "—" without data): channels_admin.health reads percentiles as the
upper bound of a latency bucket, so they read as "at most". `{{ channel|last_hour_health }}`:
what the list view put on the channel, else (a row re-rendered alone) one read for it.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from channels_admin import health as reads
from channels_admin.health import ChannelHealth, HourAttempts, Percentile
from channels_admin.models import Channel

register = template.Library()
# The attribute channel_list sets on each channel of the page (one read for the whole page).
HEALTH_ATTRIBUTE = "last_hour"
_MISSING = object()


def one_decimal(value: float) -> Decimal:
    """Rounded half up (number_format alone cuts 66.67 to 66.6)."""
    return Decimal(value).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@register.filter
def success_rate(health: ChannelHealth | HourAttempts | str | None) -> str:
    rate = health.success_rate if isinstance(health, ChannelHealth | HourAttempts) else None
    if rate is None:
        return "—"
    return f"{number_format(one_decimal(rate), 1)}%"


@register.filter
def ms(value: Percentile | str | None) -> str:
    # A missing window's percentile arrives as the template's empty string.
    if not isinstance(value, Percentile):
        return "—"
    amount = number_format(value.ms, force_grouping=True)
    if value.slower:
        return _("> %(ms)s ms") % {"ms": amount}
    return _("≤ %(ms)s ms") % {"ms": amount}


@register.filter
def last_hour_health(channel: Channel) -> ChannelHealth | None:
    found = getattr(channel, HEALTH_ATTRIBUTE, _MISSING)
    if found is _MISSING:
        return reads.last_hour_health([channel.pk]).get(channel.pk)
    return found if isinstance(found, ChannelHealth) else None
