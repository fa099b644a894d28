"""Money kept exactly: whole numbers of a billionth of the currency unit, never floats.

Prices, costs, quotas and budgets are stored and added up as integers of `UNIT` (a nano-dollar
with the default currency). A billionth is fine enough that any price a provider publishes per
million tokens (down to a thousandth of a cent per million) costs a whole number of units per
token, and wide enough that a 64-bit column holds over nine billion of the currency.
The API reads and writes money as decimal strings ("12.5"), and also takes numbers.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

UNIT = 10**9
PLACES = 9
# What a signed 64-bit column holds, in units: every database stores the same range.
MAX_UNITS = 2**63 - 1
MAX_AMOUNT = Decimal(MAX_UNITS) / UNIT


class MoneyError(ValueError):
    """Not an amount of money this gateway can keep; the message says why."""


def parse_money(value: object) -> int:
    """An amount given as a string or a number, in units; raises MoneyError when it is not one.

    Booleans are refused (JSON `true` is no price), as are negative amounts, more than nine
    decimal places (they could not be kept exactly) and amounts past what a column holds.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise MoneyError(_("Enter an amount as a number or a decimal string, such as “2.50”."))
    text = value.strip() if isinstance(value, str) else repr(value)
    try:
        amount = Decimal(text) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise MoneyError(_("“%(text)s” is not an amount.") % {"text": text}) from None
    if not amount.is_finite():
        raise MoneyError(_("“%(text)s” is not an amount.") % {"text": text})
    if amount < 0:
        raise MoneyError(_("An amount cannot be negative."))
    if amount > MAX_AMOUNT:
        raise MoneyError(
            _("An amount cannot be more than %(most)s.") % {"most": f"{MAX_AMOUNT:.0f}"}
        )
    units = amount * UNIT
    if units != units.to_integral_value():
        raise MoneyError(_("Use at most %(places)d decimal places.") % {"places": PLACES})
    return int(units)


def format_money(units: int | None) -> str | None:
    """Units as the API's decimal string: "0", "12.5", "0.000015" (None stays None)."""
    if units is None:
        return None
    amount = Decimal(units) / UNIT
    text = f"{amount:.{PLACES}f}".rstrip("0").rstrip(".")
    return text or "0"


def display_money(units: int | None, currency: str) -> str:
    """For the pages: at least two decimals, more only when the amount has them (USD 0.0015)."""
    if units is None:
        return "—"
    text = format_money(units) or "0"
    whole, _, fraction = text.partition(".")
    return f"{currency} {whole}.{fraction.ljust(2, '0')}"
