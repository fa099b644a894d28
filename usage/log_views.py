"""The Logs pages (使用日志): usage records newest first with filters in the URL, one record's
detail with its attempt chain, and the filtered set as a CSV download."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpResponse, HttpResponseBase, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseClientRedirect

from channels_admin.models import Channel
from core.adminui import (
    HtmxHttpRequest,
    is_fragment_request,
    render_page_or_fragment,
    staff_required,
)
from core.money import display_money
from tokens.models import Token
from usage.log_export import csv_filename, csv_stream
from usage.models import UsageDaily, UsageRecord
from usage.selectors import (
    LOG_PARAMS,
    RANGES,
    STATUS_CLASSES,
    Cursor,
    UsageFilters,
    capped_count,
    log_page,
    parse_log_filters,
)

PAGE_SIZE = 50
# The page says "N records" up to this many, "more than N" past it: counting further would
# walk the index as far as the filters reach (a million rows for no filter).
COUNT_CAP = 1000
# Offered in the drop-downs; more tokens or channels than this are reachable from their pages.
MAX_CHOICES = 500
MODEL_CHOICE_DAYS = 30
PARAM_LABELS = {
    "token": gettext_lazy("Token"),
    "model": gettext_lazy("Model"),
    "channel": gettext_lazy("Channel"),
    "status": gettext_lazy("Status"),
    "range": gettext_lazy("Time range"),
    "since": gettext_lazy("From"),
    "until": gettext_lazy("To"),
    "q": gettext_lazy("Request id"),
}
RANGE_LABELS = {
    "1h": gettext_lazy("Last hour"),
    "24h": gettext_lazy("Last 24 hours"),
    "7d": gettext_lazy("Last 7 days"),
    "30d": gettext_lazy("Last 30 days"),
}
STATUS_LABELS = {
    "success": gettext_lazy("Success (2xx)"),
    "client": gettext_lazy("Client error (4xx)"),
    "upstream": gettext_lazy("Upstream error (5xx)"),
}
# Offered besides the classes; any other status works typed into the address (?status=418).
COMMON_STATUSES = ("400", "401", "403", "404", "429", "499", "500", "502", "503", "504")
assert set(RANGE_LABELS) == set(RANGES) and set(STATUS_LABELS) == set(STATUS_CLASSES)


@dataclass(frozen=True, slots=True)
class LogRow:
    """A record as the list and the detail show it."""

    record: UsageRecord
    token: Token | None
    channel_name: str
    cost: str
    status_class: str  # "ok", "client" or "upstream": the badge's colour

    @property
    def model_mapped(self) -> bool:
        record = self.record
        return bool(record.upstream_model) and record.upstream_model != record.requested_model


def status_class(status: int) -> str:
    if 200 <= status < 400:
        return "ok"
    if 400 <= status < 500:
        return "client"
    return "upstream"


def _tokens(ids: Iterable[int | None]) -> dict[int, Token]:
    wanted = {pk for pk in ids if pk is not None}
    if not wanted:
        return {}
    return {token.pk: token for token in Token.objects.filter(pk__in=wanted)}


def _channel_names(ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {pk for pk in ids if pk is not None}
    if not wanted:
        return {}
    return dict(Channel.objects.filter(pk__in=wanted).values_list("pk", "name"))


def log_rows(records: list[UsageRecord]) -> list[LogRow]:
    tokens = _tokens(record.token_id for record in records)
    channels = _channel_names(record.channel_id for record in records)
    return [
        LogRow(
            record=record,
            token=tokens.get(record.token_id) if record.token_id is not None else None,
            channel_name=channels.get(record.channel_id, "")
            if record.channel_id is not None
            else "",
            cost=display_money(record.cost, settings.CURRENCY),
            status_class=status_class(record.status),
        )
        for record in records
    ]


def filter_query(params: Mapping[str, str], errors: Mapping[str, str]) -> QueryDict:
    """The filters as the links carry them: each usable one, as typed; no cursor."""
    query = QueryDict(mutable=True)
    for name in LOG_PARAMS:
        value = params.get(name, "").strip()
        if value and name not in errors:
            query[name] = value
    if "range" in query:  # a preset wins over a custom range (parse_log_filters reads it so)
        query.pop("since", None)
        query.pop("until", None)
    return query


def _choices(filters: UsageFilters) -> dict[str, list[tuple[str, str]]]:
    """The drop-downs' options: tokens and channels by name, models seen in the last 30 days
    (from the daily aggregates, never the records). A value from a link stays selectable."""
    tokens = [
        (str(pk), f"{name} ({prefix}…)")
        for pk, name, prefix in Token.objects.order_by("name", "pk").values_list(
            "pk", "name", "prefix"
        )[:MAX_CHOICES]
    ]
    channels = [
        (str(pk), name)
        for pk, name in Channel.objects.order_by("name", "pk").values_list("pk", "name")[
            :MAX_CHOICES
        ]
    ]
    since = timezone.localdate() - dt.timedelta(days=MODEL_CHOICE_DAYS)
    models = [
        (model, model)
        for model in UsageDaily.objects.filter(day__gte=since)
        .exclude(model="")
        .order_by("model")
        .values_list("model", flat=True)
        .distinct()[:MAX_CHOICES]
    ]
    for options, value in (
        (tokens, filters.token),
        (channels, filters.channel),
        (models, filters.model or None),
    ):
        if value is not None and str(value) not in {option for option, _label in options}:
            options.insert(0, (str(value), str(value)))
    return {"token": tokens, "channel": channels, "model": models}


def _status_choices(current: str) -> list[tuple[str, str]]:
    choices = [(value, str(label)) for value, label in STATUS_LABELS.items()]
    choices += [(code, code) for code in COMMON_STATUSES]
    if current and current not in {value for value, _label in choices}:
        choices.append((current, current))
    return choices


@staff_required
@require_GET
def log_list(request: HtmxHttpRequest) -> HttpResponseBase:
    filters, errors = parse_log_filters(request.GET)
    before = Cursor.parse(request.GET.get("before"))
    after = None if before is not None else Cursor.parse(request.GET.get("after"))
    page = log_page(filters, before=before, after=after, size=PAGE_SIZE)
    if filters.request_id and before is None and after is None and len(page.records) == 1:
        # A request id names one request: show it, not a list of one.
        url = reverse("logs:detail", args=[page.records[0].pk])
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    query = filter_query(request.GET, errors)
    count = None if (before or after) else capped_count(filters, COUNT_CAP)
    path = reverse("logs:list")
    shown = {name: request.GET.get(name, "").strip() for name in LOG_PARAMS}
    context = {
        "rows": log_rows(page.records),
        "page": page,
        "cursor": before or after,
        "count": count,
        "count_cap": COUNT_CAP,
        "query": query,
        "path": path,
        "shown": shown,
        "active": bool(query),
        "choices": _choices(filters),
        "status_choices": _status_choices(shown["status"]),
        "range_labels": RANGE_LABELS,
        "errors": [(PARAM_LABELS[param], message) for param, message in errors.items()],
        "error_params": set(errors),
        "export_url": reverse("logs:export") + (f"?{query.urlencode()}" if query else ""),
    }
    here = request.GET.copy()
    for name in list(here):
        if name not in ("before", "after") and name not in query:
            del here[name]
    push_url = f"{path}?{here.urlencode()}" if here else path
    status = 400 if errors and not is_fragment_request(request) else 200
    return render_page_or_fragment(
        request,
        "usage/logs.html",
        "usage/_log_table.html",
        context,
        status=status,
        push_url=push_url,
    )


def attempt_chain(attempts: Any) -> list[dict[str, Any]]:
    """Each channel tried, in order, with its name (when it still exists), its status
    (0: no HTTP answer), the error the relay kept (already sanitised) and its latency."""
    items = (
        [item for item in attempts if isinstance(item, dict)] if isinstance(attempts, list) else []
    )
    ids = [item.get("channel_id") for item in items]
    names = _channel_names(pk for pk in ids if isinstance(pk, int))
    chain = []
    for item in items:
        channel_id = item.get("channel_id")
        status = item.get("status")
        chain.append(
            {
                "channel_id": channel_id,
                "channel_name": names.get(channel_id, "") if isinstance(channel_id, int) else "",
                "status": status,
                "status_class": status_class(status) if isinstance(status, int) else "upstream",
                "error": str(item.get("error") or ""),
                "latency_ms": item.get("latency_ms"),
            }
        )
    return chain


@staff_required
@require_GET
def log_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(UsageRecord, pk=pk)
    back = request.GET.get("back", "")
    context = {
        "row": log_rows([record])[0],
        "chain": attempt_chain(record.attempts),
        "back": back if back.startswith(reverse("logs:list")) else reverse("logs:list"),
    }
    return render(request, "usage/log_detail.html", context)


@staff_required
@require_GET
async def log_export(request: HtmxHttpRequest) -> HttpResponseBase:
    filters, _errors = parse_log_filters(request.GET)
    # An async iterator: under ASGI, Django would read a sync one whole into memory first.
    response = StreamingHttpResponse(
        csv_stream(filters, currency=settings.CURRENCY), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{csv_filename(timezone.now())}"'
    response["Cache-Control"] = "no-store"
    # Proxies such as nginx would hold the download back until it ends.
    response["X-Accel-Buffering"] = "no"
    return response
