"""Reading usage records: the filters of GET /api/usage and of the Logs page, parsed once and
applied once, and the Logs page's keyset paging (newest first by (created_at, id)).

Every filter meets an index of UsageRecord (models.py, migrations): a token, model, channel or
status with the time, the time alone, the request id. Paging never counts the table: a page
fetches one row more than it shows to know whether an older one exists, and its links carry
the (created_at, id) of the row to continue from.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

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
    # The Logs page's extras (the API has neither): a request id, and an end that excludes.
    request_id: str = ""
    before: dt.datetime | None = None


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


def filter_records(filters: UsageFilters, *, status_by_index: bool = True) -> QuerySet[UsageRecord]:
    """Matching records, newest first (`since` and `until` both included).

    `status_by_index=False` words the status filter so no index serves it (see
    `status_is_rare`): the database then walks the time index, or another filter's.
    """
    records = UsageRecord.objects.all()
    if filters.token is not None:
        records = records.filter(token_id=filters.token)
    if filters.model:
        records = records.filter(requested_model=filters.model)
    if filters.channel is not None:
        records = records.filter(channel_id=filters.channel)
    if filters.status_from is not None and filters.status_to is not None:
        if status_by_index:
            records = records.filter(status__gte=filters.status_from, status__lt=filters.status_to)
        else:
            records = records.alias(plain_status=F("status") + 0).filter(
                plain_status__gte=filters.status_from, plain_status__lt=filters.status_to
            )
    if filters.since is not None:
        records = records.filter(created_at__gte=filters.since)
    if filters.until is not None:
        records = records.filter(created_at__lte=filters.until)
    if filters.before is not None:
        records = records.filter(created_at__lt=filters.before)
    if filters.request_id:
        records = records.filter(request_id=filters.request_id)
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


# --- the Logs page -----------------------------------------------------------------------

# The page's status choices: a class, or any exact status typed as a number.
STATUS_CLASSES = {"success": (200, 300), "client": (400, 500), "upstream": (500, 600)}
RANGES = {
    "1h": dt.timedelta(hours=1),
    "24h": dt.timedelta(hours=24),
    "7d": dt.timedelta(days=7),
    "30d": dt.timedelta(days=30),
}
# Past this many matches a status is common (see `status_is_rare`).
COMMON_STATUS_ROWS = 10_000
LOG_PARAMS = ("token", "model", "channel", "status", "range", "since", "until", "q")
MAX_REQUEST_ID = 128
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_CURSOR = re.compile(r"(-?[0-9]{1,18})\.([0-9]{1,18})")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _page_moment(param: str, value: str, *, end: bool) -> dt.datetime:
    """A time typed in the page (a day, or a day and time from a datetime-local input) in the
    gateway's time zone; a day given as the end counts whole (its next midnight, excluded)."""
    bad = FilterError(param, _("Enter a date (YYYY-MM-DD) or a date and time (YYYY-MM-DD HH:MM)."))
    try:
        if _DAY.fullmatch(value):
            day = dt.date.fromisoformat(value) + dt.timedelta(days=1 if end else 0)
            moment: dt.datetime | None = dt.datetime.combine(day, dt.time.min)
        else:
            moment = parse_datetime(value)
        if moment is None:
            raise bad
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return moment.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise bad from None


def parse_log_filters(
    params: Mapping[str, str], *, now: dt.datetime | None = None
) -> tuple[UsageFilters, dict[str, str]]:
    """The Logs page's filters, and a message per parameter that could not be used (that
    filter is left out, the others still apply)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for param in ("token", "channel"):
        if raw := params.get(param, "").strip():
            if _ID.fullmatch(raw):
                values[param] = int(raw)
            else:
                errors[param] = _("Choose one from the list.")
    if raw := params.get("model", "").strip():
        if len(raw) > MAX_MODEL or _CONTROL.search(raw):
            errors["model"] = _("Enter a model name.")
        else:
            values["model"] = raw
    if raw := params.get("status", "").strip():
        if raw in STATUS_CLASSES:
            values["status_from"], values["status_to"] = STATUS_CLASSES[raw]
        elif raw.isascii() and raw.isdigit() and 100 <= int(raw) <= 599:
            values["status_from"], values["status_to"] = int(raw), int(raw) + 1
        else:
            errors["status"] = _("Enter an HTTP status such as 429.")
    if raw := params.get("range", "").strip():
        if raw in RANGES:
            values["since"] = (now or timezone.now()) - RANGES[raw]
        else:
            errors["range"] = _("Choose one from the list.")
    else:
        for param in ("since", "until"):
            if raw := params.get(param, "").strip():
                try:
                    moment = _page_moment(param, raw, end=param == "until")
                except FilterError as exc:
                    errors[param] = exc.message
                    continue
                values["since" if param == "since" else "before"] = moment
    if raw := params.get("q", "").strip():
        if len(raw) > MAX_REQUEST_ID or _CONTROL.search(raw):
            errors["q"] = _("Enter a request id.")
        else:
            values["request_id"] = raw
    return UsageFilters(**values), errors


def status_is_rare(filters: UsageFilters) -> bool:
    """Whether the status filter matches few records (or there is none): then its index
    serves it best, sorting the few by time. A common status (successes: most of the
    traffic) is better found by walking the time index newest first and skipping the
    others, than by sorting all of its matches for one page. The probe counts along the
    status index, no further than COMMON_STATUS_ROWS entries."""
    if filters.status_from is None or filters.status_to is None:
        return True
    matches = UsageRecord.objects.filter(
        status__gte=filters.status_from, status__lt=filters.status_to
    ).order_by()
    return matches[: COMMON_STATUS_ROWS + 1].count() <= COMMON_STATUS_ROWS


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page continues from: a row's (created_at, id)."""

    created_at: dt.datetime
    id: int

    def __str__(self) -> str:
        delta = self.created_at - _EPOCH
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        return f"{micros}.{self.id}"

    @classmethod
    def parse(cls, raw: str | None) -> Cursor | None:
        """A cursor from a link; anything else (edited, cut short) is None: the first page."""
        match = _CURSOR.fullmatch((raw or "").strip())
        if not match:
            return None
        try:
            moment = _EPOCH + dt.timedelta(microseconds=int(match.group(1)))
        except OverflowError:
            return None
        return cls(moment, int(match.group(2)))

    @classmethod
    def of(cls, record: UsageRecord) -> Cursor:
        return cls(record.created_at, record.pk)


def older_than(records: QuerySet[UsageRecord], cursor: Cursor) -> QuerySet[UsageRecord]:
    """The records after `cursor` in newest-first order. The plain `created_at <=` bound is
    what lets the database start its index scan at the cursor; the OR only settles ties."""
    return records.filter(created_at__lte=cursor.created_at).filter(
        Q(created_at__lt=cursor.created_at) | Q(id__lt=cursor.id)
    )


def newer_than(records: QuerySet[UsageRecord], cursor: Cursor) -> QuerySet[UsageRecord]:
    return records.filter(created_at__gte=cursor.created_at).filter(
        Q(created_at__gt=cursor.created_at) | Q(id__gt=cursor.id)
    )


@dataclass(frozen=True, slots=True)
class LogPage:
    """One page of the Logs list, newest first, and the cursors of its neighbours."""

    records: list[UsageRecord]
    older: Cursor | None  # the "Older" link's `before`
    newer: Cursor | None  # the "Newer" link's `after`


def log_page(
    filters: UsageFilters,
    *,
    before: Cursor | None = None,
    after: Cursor | None = None,
    size: int = 50,
) -> LogPage:
    """The `size` records older than `before`, or newer than `after`, or the newest.

    One query of `size + 1` rows: the extra row only says whether there is more that way.
    """
    found = filter_records(filters, status_by_index=status_is_rare(filters))
    if after is not None:
        rows = list(newer_than(found, after).order_by("created_at", "id")[: size + 1])
        if len(rows) <= size:
            # Back at the newest: show a full first page rather than a short one.
            return log_page(filters, size=size)
        rows = rows[:size][::-1]
        return LogPage(rows, older=Cursor.of(rows[-1]), newer=Cursor.of(rows[0]))
    if before is not None:
        found = older_than(found, before)
    rows = list(found[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return LogPage(
        rows,
        older=Cursor.of(rows[-1]) if more and rows else None,
        newer=Cursor.of(rows[0]) if before is not None and rows else None,
    )


def capped_count(filters: UsageFilters, cap: int) -> int:
    """How many records match, counting no further than `cap` (an index walk of at most
    `cap` rows, never the table): the page says "more than …" past it."""
    records = filter_records(filters, status_by_index=status_is_rare(filters))
    return records.order_by()[: cap + 1].count()
