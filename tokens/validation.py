"""The checks of each token field, called by tokens.forms (the one place input is validated,
for the pages, the admin API and manage.py alike).

Each takes the raw value (form text or any JSON value) and returns the clean one, or raises
ValueError with the message. Everything a database would refuse (over-long text, NUL
characters, dates outside what Python can convert) is refused here first. Every check is
linear in the size of its input, and lists are capped before their items are parsed.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from channels_admin.validation import whole_number
from core.money import parse_money
from tokens.models import TokenStatus

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
# Far above any real limit (16,000 requests a second; a billion tokens a minute), far below
# what an integer column holds.
MAX_RPM_LIMIT = 1_000_000
MAX_TPM_LIMIT = 1_000_000_000
# How much of a refused value an error message repeats.
ECHO_LENGTH = 40
# An amount's text: the largest amount a column holds with nine decimals is 29 characters;
# anything much longer is noise, refused before it is parsed or repeated in a message.
MAX_MONEY_TEXT = 64


def _echo(value: str) -> str:
    return value if len(value) <= ECHO_LENGTH else value[:ECHO_LENGTH] + "…"


def clean_text(value: Any, *, max_length: int) -> str:
    """A stripped, non-empty string without NUL characters, at most `max_length` long."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(_("Must be a non-empty string."))
    if "\x00" in value:
        raise ValueError(_("Must not contain NUL characters."))
    text: str = value.strip()
    if len(text) > max_length:
        raise ValueError(_("At most %(limit)s characters.") % {"limit": max_length})
    return text


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


def clean_status(value: Any) -> str:
    if value not in TokenStatus.values:
        raise ValueError(
            _("Unknown status. Choose one of: %(choices)s.")
            % {"choices": ", ".join(TokenStatus.values)}
        )
    return str(value)


def clean_rate_limit(value: Any, *, maximum: int) -> int | None:
    """A per-minute limit: a whole number from 1 to `maximum`, or None (null, "") for none."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number = whole_number(value)
    if number is None:
        raise ValueError(_("Must be a whole number, or empty for no limit."))
    if not 1 <= number <= maximum:
        raise ValueError(
            _("Must be from 1 to %(limit)s, or empty for no limit.") % {"limit": maximum}
        )
    return number


def clean_money_limit(value: Any) -> int | None:
    """A quota or budget in core.money units, or None (null, "") for unlimited.

    Strings and numbers are taken (the API's contract); booleans, negative amounts and more
    than nine decimal places are refused by core.money.parse_money, whose message is kept.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str) and len(value) > MAX_MONEY_TEXT:
        raise ValueError(
            _("Enter an amount of at most %(limit)s characters.") % {"limit": MAX_MONEY_TEXT}
        )
    # MoneyError is a ValueError: its message reaches the form as it is.
    return parse_money(value)
