"""Reading usage records: the filters of GET /api/usage, parsed once and applied once."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.api import iso
from core.money import format_money
from usage.models import MAX_MODEL, UsageRecord

FILTER_PARAMS = ("token", "model", "channel", "status", "since", "until")
_STATUS_CLASS = re.compile(r"([1-5])xx", re.IGNORECASE)
_ID = re.compile(r"[0-9]{1,18}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class FilterError(ValueError):
    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message


@dataclass(frozen=True, slots=True)
class UsageFilters:
    token: int | None = None
    model: str = ""
    channel: int | None = None
    # An exact status, or [low, high) for a class such as 5xx.
    status_from: int | None = None
    status_to: int | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def _id(param: str, value: str) -> int:
    if not _ID.fullmatch(value):
        raise FilterError(param, f"'{param}' must be a whole number (an id).")
    return int(value)


def _moment(param: str, value: str) -> dt.datetime:
    try:
        moment = parse_datetime(value)
        if moment is None and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            moment = dt.datetime.combine(dt.date.fromisoformat(value), dt.time.min)
    except (ValueError, OverflowError):
        moment = None
    if moment is None:
        raise FilterError(
            param, f"'{param}' must be an ISO 8601 time, such as 2025-01-31T12:00:00Z."
        )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    try:
        return moment.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        raise FilterError(param, f"'{param}' is out of range.") from None


def parse_filters(params: Mapping[str, str]) -> UsageFilters:
    """The filters in `params`; raises FilterError naming the first bad parameter."""
    values: dict[str, Any] = {}
    if raw := params.get("token", "").strip():
        values["token"] = _id("token", raw)
    if raw := params.get("channel", "").strip():
        values["channel"] = _id("channel", raw)
    if raw := params.get("model", "").strip():
        if len(raw) > MAX_MODEL or _CONTROL.search(raw):
            raise FilterError(
                "model", f"'model' must be a model name of at most {MAX_MODEL} characters."
            )
        values["model"] = raw
    if raw := params.get("status", "").strip():
        if klass := _STATUS_CLASS.fullmatch(raw):
            low = int(klass.group(1)) * 100
            values["status_from"], values["status_to"] = low, low + 100
        elif raw.isascii() and raw.isdigit() and 100 <= int(raw) <= 599:
            values["status_from"], values["status_to"] = int(raw), int(raw) + 1
        else:
            raise FilterError(
                "status", "'status' must be an HTTP status (such as 429) or a class (such as 5xx)."
            )
    for param in ("since", "until"):
        if raw := params.get(param, "").strip():
            values[param] = _moment(param, raw)
    return UsageFilters(**values)


def filter_records(filters: UsageFilters) -> QuerySet[UsageRecord]:
    """Matching records, newest first (`since` and `until` both included)."""
    records = UsageRecord.objects.all()
    if filters.token is not None:
        records = records.filter(token_id=filters.token)
    if filters.model:
        records = records.filter(requested_model=filters.model)
    if filters.channel is not None:
        records = records.filter(channel_id=filters.channel)
    if filters.status_from is not None and filters.status_to is not None:
        records = records.filter(status__gte=filters.status_from, status__lt=filters.status_to)
    if filters.since is not None:
        records = records.filter(created_at__gte=filters.since)
    if filters.until is not None:
        records = records.filter(created_at__lte=filters.until)
    return records.order_by("-created_at", "-id")


def record_as_dict(record: UsageRecord) -> dict[str, Any]:
    """A record as the API contract names its fields; money as a decimal string."""
    return {
        "id": record.pk,
        "created_at": iso(record.created_at),
        "request_id": record.request_id,
        "token_id": record.token_id,
        "client_ip": record.client_ip,
        "endpoint": record.endpoint,
        "requested_model": record.requested_model,
        "upstream_model": record.upstream_model,
        "channel_id": record.channel_id,
        "attempts": record.attempts,
        "status": record.status,
        "error": record.error,
        "stream": record.stream,
        "prompt_tokens": record.prompt_tokens,
        "completion_tokens": record.completion_tokens,
        "total_tokens": record.total_tokens,
        "estimated": record.estimated,
        "unpriced": record.unpriced,
        "cost": format_money(record.cost),
        "latency_ms": record.latency_ms,
        "first_byte_ms": record.first_byte_ms,
    }
