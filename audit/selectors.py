"""Reading the audit log: the filters the page and the API share, parsed once and applied once."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from audit.labels import action_label, object_type_label
from audit.models import AuditEvent

TEXT_FILTERS = ("q", "actor", "action", "object_type", "object_id")
TIME_FILTERS = ("since", "until")
FILTER_PARAMS = TEXT_FILTERS + TIME_FILTERS
MAX_FILTER_LENGTH = 200
# Offered in the page's drop-downs; a longer tail is still reachable by typing in `q`.
MAX_CHOICES = 200
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class AuditFilters:
    q: str = ""
    actor: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    # Events at or after `since` and strictly before `before` (a day given as `until` counts
    # whole, so `before` is the next midnight).
    since: dt.datetime | None = None
    before: dt.datetime | None = None


class FilterError(ValueError):
    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message


def _clean_text(param: str, value: str) -> str:
    value = value.strip()
    if len(value) > MAX_FILTER_LENGTH:
        raise FilterError(param, _("At most %(limit)d characters.") % {"limit": MAX_FILTER_LENGTH})
    if CONTROL.search(value):
        raise FilterError(param, _("Control characters are not allowed."))
    return value


def _in_range(param: str, moment: dt.datetime) -> dt.datetime:
    try:
        # Both the database and Python need it as UTC; at the calendar's edge there is none.
        return moment.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        raise FilterError(param, _("This date is out of range.")) from None


def _parse_moment(param: str, value: str) -> tuple[dt.datetime | None, bool]:
    """(moment, whole_day): a YYYY-MM-DD day starts at midnight in the gateway's time zone."""
    bad = FilterError(
        param, _("Enter a date (YYYY-MM-DD) or a date and time (YYYY-MM-DDTHH:MM:SS+00:00).")
    )
    try:
        if DATE.fullmatch(value):
            day = dt.date.fromisoformat(value)
            return _in_range(
                param, timezone.make_aware(dt.datetime.combine(day, dt.time.min))
            ), True
        moment = parse_datetime(value)
    except (ValueError, OverflowError):
        raise bad from None
    if moment is None:
        raise bad
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return _in_range(param, moment), False


def _before(param: str, value: str) -> dt.datetime | None:
    moment, whole_day = _parse_moment(param, value)
    assert moment is not None
    try:
        return moment + (dt.timedelta(days=1) if whole_day else dt.timedelta(microseconds=1))
    except OverflowError:
        return None  # the calendar's last day: nothing comes after it


def parse_filters(params: Mapping[str, Any]) -> tuple[AuditFilters, dict[str, str]]:
    """The filters in `params`, and a message per parameter that could not be used."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for param in TEXT_FILTERS:
        try:
            values[param] = _clean_text(param, str(params.get(param) or ""))
        except FilterError as exc:
            errors[param] = exc.message
    for param in TIME_FILTERS:
        raw = str(params.get(param) or "").strip()
        if not raw:
            continue
        try:
            if param == "since":
                values["since"] = _parse_moment(param, _clean_text(param, raw))[0]
            else:
                values["before"] = _before(param, _clean_text(param, raw))
        except FilterError as exc:
            errors[param] = exc.message
    return AuditFilters(**values), errors


def filter_events(filters: AuditFilters) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.all()
    if filters.q:
        events = events.filter(
            Q(object_repr__icontains=filters.q)
            | Q(actor__icontains=filters.q)
            | Q(detail__icontains=filters.q)
            | Q(object_id=filters.q)
        )
    for field in ("actor", "action", "object_type", "object_id"):
        if value := getattr(filters, field):
            events = events.filter(**{field: value})
    if filters.since is not None:
        events = events.filter(at__gte=filters.since)
    if filters.before is not None:
        events = events.filter(at__lt=filters.before)
    return events.order_by("-at", "-id")


def _distinct(field: str) -> list[str]:
    return list(
        AuditEvent.objects.order_by(field).values_list(field, flat=True).distinct()[:MAX_CHOICES]
    )


def filter_choices() -> dict[str, list[tuple[str, str]]]:
    """What the page's drop-downs offer: the values the log holds, with their labels."""
    return {
        "actor": [(actor, actor) for actor in _distinct("actor")],
        "action": [(action, action_label(action)) for action in _distinct("action")],
        "object_type": [(kind, object_type_label(kind)) for kind in _distinct("object_type")],
    }
