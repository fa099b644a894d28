"""Checks on token input, shared by the pages, the admin API and manage.py.

Everything a database would refuse (over-long text, NUL characters, dates outside what Python
can convert) is refused here first, with a message naming the field. Every check is linear in
the size of its input, and lists are capped before their items are parsed.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from tokens.models import TokenStatus

TOKEN_FIELDS = ("name", "group", "status", "expires_at", "models", "allowed_ips")
MAX_NAME = 100
MAX_GROUP = 64
MAX_MODEL_NAME = 200
MAX_ALLOWED_MODELS = 1000
MAX_ALLOWED_IPS = 100
# The longest IPv6 text form with a prefix length is 49 characters; anything longer is noise.
MAX_IP_TEXT = 64
MAX_EXPIRY_TEXT = 64
# Far from both ends of Python's calendar, so no time zone can push a value over an edge.
EXPIRY_MIN = datetime(2000, 1, 1, tzinfo=UTC)
EXPIRY_MAX = datetime(9999, 1, 1, tzinfo=UTC)
# How much of a refused value an error message repeats.
ECHO_LENGTH = 40


def _echo(value: str) -> str:
    return value if len(value) <= ECHO_LENGTH else value[:ECHO_LENGTH] + "…"


def clean_text(value: Any, *, max_length: int) -> str:
    """A stripped, non-empty string without NUL characters, at most `max_length` long."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(_("Must be a non-empty string."))
    if "\x00" in value:
        raise ValueError(_("Must not contain NUL characters."))
    value = value.strip()
    if len(value) > max_length:
        raise ValueError(_("At most %(limit)s characters.") % {"limit": max_length})
    return value


def parse_expiry(value: Any) -> datetime | None:
    """ISO 8601 to an aware datetime; naive values are read in the server's time zone.

    Past times are allowed (the token is then simply expired), but only from 2000 on and
    before 9999, so no value overflows when converted to UTC, stored, or shown.
    """
    if value in (None, ""):
        return None
    parsed: datetime | None = None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and len(value) <= MAX_EXPIRY_TEXT and "\x00" not in value:
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
    if parsed is None:
        raise ValueError(_("Enter an ISO 8601 date and time, e.g. 2027-01-31T23:59:00Z."))
    out_of_range = ValueError(
        _("Enter a time from %(start)s up to, but not including, %(end)s (UTC).")
        % {"start": "2000-01-01", "end": "9999-01-01"}
    )
    try:
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed)
        in_utc = parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        raise out_of_range from None
    if not EXPIRY_MIN <= in_utc < EXPIRY_MAX:
        raise out_of_range
    return parsed


def _list_items(value: Any) -> list[str] | None:
    """The non-blank items of a list of strings, or of a comma/newline separated string."""
    if isinstance(value, str):
        value = value.replace("\n", ",").split(",")
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return None
    return [item.strip() for item in value if item.strip()]


def clean_allowed_ips(value: Any) -> list[str]:
    items = _list_items(value)
    if items is None:
        raise ValueError(_("Must be a list of IP addresses or CIDR ranges."))
    if len(items) > MAX_ALLOWED_IPS:
        raise ValueError(_("At most %(limit)s addresses or ranges.") % {"limit": MAX_ALLOWED_IPS})
    cleaned: dict[str, None] = {}
    for item in items:
        if "\x00" in item:
            raise ValueError(_("Must not contain NUL characters."))
        try:
            if len(item) > MAX_IP_TEXT:
                raise ValueError
            network = ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(
                _("“%(value)s” is not an IP address or CIDR range.") % {"value": _echo(item)}
            ) from None
        cleaned[str(network)] = None
    return list(cleaned)


def clean_allowed_models(value: Any) -> list[str]:
    items = _list_items([] if value is None else value)
    if items is None:
        raise ValueError(_("Must be a list of model names."))
    if len(items) > MAX_ALLOWED_MODELS:
        raise ValueError(_("At most %(limit)s models.") % {"limit": MAX_ALLOWED_MODELS})
    for item in items:
        if "\x00" in item:
            raise ValueError(_("Must not contain NUL characters."))
        if len(item) > MAX_MODEL_NAME:
            raise ValueError(
                _("“%(value)s” is longer than %(limit)s characters.")
                % {"value": _echo(item), "limit": MAX_MODEL_NAME}
            )
    return list(dict.fromkeys(items))


def clean_token_data(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """Validate API/form input; returns model attributes. Raises ValidationError per field."""
    errors: dict[str, list[str]] = {}
    for field in sorted(set(data) - set(TOKEN_FIELDS)):
        errors.setdefault(field, []).append(_("Unknown field."))
    if not partial and data.get("name") in (None, ""):
        errors.setdefault("name", []).append(_("This field is required."))
    cleaned: dict[str, Any] = {}

    def check(field: str, attribute: str, clean: Any) -> None:
        if field not in data or field in errors:
            return
        try:
            cleaned[attribute] = clean(data[field])
        except ValueError as exc:
            errors.setdefault(field, []).append(str(exc))

    check("name", "name", lambda v: clean_text(v, max_length=MAX_NAME))
    check("group", "group", lambda v: clean_text(v, max_length=MAX_GROUP))
    check("status", "status", _clean_status)
    check("expires_at", "expires_at", parse_expiry)
    check("models", "allowed_models", clean_allowed_models)
    check("allowed_ips", "allowed_ips", lambda v: clean_allowed_ips(v or []))

    if errors:
        raise ValidationError(errors)
    return cleaned


def _clean_status(value: Any) -> str:
    if value not in TokenStatus.values:
        raise ValueError(
            _("Unknown status. Choose one of: %(choices)s.")
            % {"choices": ", ".join(TokenStatus.values)}
        )
    return str(value)


def clean_admin_key_name(value: Any) -> str:
    try:
        return clean_text(value, max_length=MAX_NAME)
    except ValueError as exc:
        raise ValidationError({"name": [str(exc)]}) from None
