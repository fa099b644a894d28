"""The dashboard's parts (the home page, gateway.views.overview, shows them), one token's usage
and one channel's health: pages that also answer htmx with their fragment, so the token and
channel edit pages (apps below usage) embed them with hx-get and link to them without JS."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from channels_admin.health import (
    LAST_DAY_BUCKETS,
    LAST_HOUR_BUCKETS,
    hourly_attempts,
    last_day_health,
    last_hour_health,
    top_errors,
    window_start,
)
from channels_admin.models import Channel
from core.adminui import render_page_or_fragment, staff_required
from core.money import display_money
from tokens.models import Token
from usage import dashboard
from usage.charts import Bar, bar_chart
from usage.dashboard import Point, Range

HEALTH_CHART_HEIGHT = 140


def money(units: int | float) -> str:
    return display_money(int(units), settings.CURRENCY)


def count(value: int | float) -> str:
    return number_format(int(value), force_grouping=True)


def _point_label(point: Point, *, long: bool) -> str:
    start = point.start
    if isinstance(start, dt.datetime):
        local = timezone.localtime(start)
        return local.strftime("%Y-%m-%d %H:00" if long else "%H:00")
    return start.strftime("%Y-%m-%d" if long else "%m-%d")


def series_charts(points: Sequence[Point], window: Range) -> list[dict[str, Any]]:
    """Requests, tokens and cost of a series, each as an SVG bar chart."""
    span = _("last 24 hours, by hour") if window == "24h" else _("last 30 days, by day")
    metrics: list[tuple[str, Callable[[Point], int], Callable[[int | float], str]]] = [
        (_("Requests"), lambda point: point.totals.requests, count),
        (_("Tokens"), lambda point: point.totals.tokens, count),
        (_("Cost"), lambda point: point.totals.cost, money),
    ]
    charts = []
    for name, value, shown in metrics:
        bars = [
            Bar(
                _point_label(point, long=False),
                value(point),
                f"{_point_label(point, long=True)} · {name}: {shown(value(point))}",
            )
            for point in points
        ]
        charts.append(
            {
                "name": name,
                "svg": bar_chart(bars, caption=f"{name} ({span})", axis_label=shown),
            }
        )
    return charts


def _series_context(window: Range) -> dict[str, Any]:
    points = dashboard.series(window)
    return {
        "window": window,
        "points": [
            {"label": _point_label(point, long=True), "totals": point.totals} for point in points
        ],
        "charts": series_charts(points, window),
        "totals": dashboard.totals(points),
    }


def breakdown_context(window: Range) -> dict[str, Any]:
    """The ?range= part of the dashboard: shares by model, channel, token and group."""
    labels = {
        "model": _("By model"),
        "channel_id": _("By channel"),
        "token_id": _("By token"),
        "group": _("By group"),
    }
    return {
        "range": window,
        "ranges": [("24h", _("Last 24 hours")), ("30d", _("Last 30 days"))],
        "breakdowns": [
            {
                "dimension": dimension,
                "label": labels[dimension],
                "shares": dashboard.breakdown(window, dimension),
            }
            for dimension in dashboard.DIMENSIONS
        ],
        "spenders": dashboard.top_spenders(window),
    }


def health_context() -> dict[str, Any]:
    """Every channel's health over the last hour and day, and the day's top errors."""
    channels = list(Channel.objects.order_by("name", "pk").only("name", "status"))
    hour = last_hour_health()
    day = last_day_health()
    names = {channel.pk: channel.name for channel in channels}
    return {
        "health_rows": [
            {"channel": channel, "hour": hour.get(channel.pk), "day": day.get(channel.pk)}
            for channel in channels
        ],
        "health_errors": [
            {"error": error, "channel_name": names.get(error.channel_id, f"#{error.channel_id}")}
            for error in top_errors(window_start(LAST_DAY_BUCKETS))
        ],
    }


def dashboard_context(request: HttpRequest) -> dict[str, Any]:
    """Everything the dashboard sections of the home page show."""
    window = dashboard.read_range(request.GET.get("range"))
    return {
        "series": [_series_context("24h"), _series_context("30d")],
        **breakdown_context(window),
        **health_context(),
        "limited_tokens": dashboard.limited_tokens(),
        "channel_costs": dashboard.channel_costs(),
        "currency": settings.CURRENCY,
    }


@staff_required
@require_GET
def token_usage(request: HttpRequest, pk: int) -> HttpResponse:
    """One token's last 30 days, by day, and what it has left."""
    token = get_object_or_404(Token, pk=pk)
    points = dashboard.series("30d", token_id=token.pk)
    context = {
        "token": token,
        "money": dashboard.token_money(token),
        "points": [
            {"label": _point_label(point, long=True), "totals": point.totals} for point in points
        ],
        "charts": series_charts(points, "30d"),
        "totals": dashboard.totals(points),
    }
    return render_page_or_fragment(
        request, "usage/dashboard_token.html", "usage/_token_usage.html", context
    )


@staff_required
@require_GET
def channel_health(request: HttpRequest, pk: int) -> HttpResponse:
    """One channel's health: the last hour and day, attempts per hour, and its top errors."""
    channel = get_object_or_404(Channel, pk=pk)
    hours = hourly_attempts(channel.pk)
    bars = [
        Bar(
            timezone.localtime(point.hour).strftime("%H:00"),
            point.attempts,
            _("%(hour)s · %(attempts)s attempts, %(rate)s succeeded")
            % {
                "hour": timezone.localtime(point.hour).strftime("%Y-%m-%d %H:00"),
                "attempts": count(point.attempts),
                "rate": "—" if point.success_rate is None else f"{point.success_rate:.1f}%",
            },
        )
        for point in hours
    ]
    context = {
        "channel": channel,
        "hour": last_hour_health([channel.pk]).get(channel.pk),
        "day": last_day_health([channel.pk]).get(channel.pk),
        "hours": [
            {"label": timezone.localtime(point.hour).strftime("%Y-%m-%d %H:00"), "point": point}
            for point in hours
        ],
        "chart": bar_chart(
            bars,
            caption=_("Attempts on “%(name)s”, last 24 hours by hour") % {"name": channel.name},
            axis_label=count,
            height=HEALTH_CHART_HEIGHT,
        ),
        "errors": top_errors(window_start(LAST_DAY_BUCKETS), channel_id=channel.pk),
        "last_hour_buckets": LAST_HOUR_BUCKETS,
    }
    return render_page_or_fragment(
        request, "usage/dashboard_channel.html", "usage/dashboard_channel_panel.html", context
    )
