"""The price and group-multiplier forms: the one place their input is validated.

The Prices page binds them to POST data and the JSON admin API to the parsed body
(`PriceForm.from_json`); usage.services then writes the clean values. Money is parsed by
core.money (strings or numbers, exactly, at most nine decimals), so a price reads the same
whichever way it came in.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.forms import CheckedField, EntityForm
from core.money import format_money, parse_money
from usage.models import MAX_MODEL, MULTIPLIER_DIGITS, MULTIPLIER_PLACES, ModelPrice

# As a token's group (tokens.validation.MAX_GROUP) and GroupMultiplier.name.
MAX_GROUP = 64
# Tabs, newlines and other control characters: never part of a model or group name.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MULTIPLIER_STEP = Decimal(1).scaleb(-MULTIPLIER_PLACES)
# What the column holds: 999999.999999.
MAX_MULTIPLIER = Decimal(10) ** (MULTIPLIER_DIGITS - MULTIPLIER_PLACES) - MULTIPLIER_STEP
# Longer input is no multiplier; refused before Decimal reads it.
MAX_MULTIPLIER_TEXT = 40


def clean_name(value: Any, *, max_length: int) -> str:
    """A stripped, non-empty name without control characters (`/` allowed: "org/model")."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(_("Must be a non-empty string."))
    text = value.strip()
    if _CONTROL.search(text):
        raise ValueError(_("Must not contain control characters."))
    if len(text) > max_length:
        raise ValueError(_("At most %(limit)s characters.") % {"limit": max_length})
    return text


def clean_model(value: Any) -> str:
    return clean_name(value, max_length=MAX_MODEL)


def clean_group(value: Any) -> str:
    return clean_name(value, max_length=MAX_GROUP)


def clean_price(value: Any) -> int:
    """An amount in core.money units; a blank box on the page means 0."""
    if isinstance(value, str) and not value.strip():
        return 0
    return parse_money(value)  # MoneyError is a ValueError: its message goes beside the field


def clean_multiplier(value: Any) -> Decimal:
    """A multiplier ≥ 0 with at most six decimals, from a string or a number (not a bool)."""
    invalid = ValueError(_("Enter a multiplier as a number or a decimal string, such as “1.5”."))
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise invalid
    if isinstance(value, Decimal):
        number = value
    else:
        text = value.strip() if isinstance(value, str) else repr(value)
        if len(text) > MAX_MULTIPLIER_TEXT:
            raise invalid
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise invalid from None
    if not number.is_finite():
        raise invalid
    if number < 0:
        raise ValueError(_("A multiplier cannot be negative."))
    if number > MAX_MULTIPLIER:
        raise ValueError(_("A multiplier cannot be more than %(max)s.") % {"max": MAX_MULTIPLIER})
    if number != number.quantize(MULTIPLIER_STEP):
        raise ValueError(
            _("Use at most %(places)s decimal places.") % {"places": MULTIPLIER_PLACES}
        )
    return number.quantize(MULTIPLIER_STEP)


def _money_widget() -> forms.TextInput:
    return forms.TextInput(
        attrs={"class": "input-number", "inputmode": "decimal", "autocomplete": "off"}
    )


def _money_field(label: Any, help_text: Any) -> CheckedField:
    return CheckedField(
        label=label,
        check=clean_price,
        required=False,
        initial="0",
        help_text=help_text,
        widget=_money_widget(),
    )


class PriceForm(EntityForm):
    model = CheckedField(
        label=gettext_lazy("Model"),
        check=clean_model,
        help_text=gettext_lazy(
            "The name clients ask for (before any channel's mapping), e.g. gpt-4o or org/model."
        ),
        widget=forms.TextInput(
            attrs={"maxlength": MAX_MODEL, "autocomplete": "off", "list": "price-models"}
        ),
    )
    input_per_million = _money_field(
        gettext_lazy("Input per million tokens"), gettext_lazy("Prompt tokens.")
    )
    output_per_million = _money_field(
        gettext_lazy("Output per million tokens"), gettext_lazy("Completion tokens.")
    )
    per_request = _money_field(
        gettext_lazy("Per request"),
        gettext_lazy("Charged once per answered request, on top of the tokens."),
    )

    def __init__(self, *args: Any, price: ModelPrice | None = None, **kwargs: Any) -> None:
        if price is not None:
            kwargs.setdefault("initial", initial_for(price))
        super().__init__(*args, **kwargs)
        # Suggestions for the model field's datalist (the page fills them in).
        self.models: list[str] = []


def initial_for(price: ModelPrice) -> dict[str, Any]:
    """A price's values as the form shows them: money as the API's decimal strings."""
    return {
        "model": price.model,
        "input_per_million": format_money(price.input_per_million),
        "output_per_million": format_money(price.output_per_million),
        "per_request": format_money(price.per_request),
    }


class GroupMultiplierForm(EntityForm):
    name = CheckedField(
        label=gettext_lazy("Group"),
        check=clean_group,
        widget=forms.TextInput(attrs={"maxlength": MAX_GROUP}),
    )
    price_multiplier = CheckedField(
        label=gettext_lazy("Price multiplier"),
        check=clean_multiplier,
        help_text=gettext_lazy("Every part of a price is multiplied by it; 1 is the list price."),
        widget=forms.TextInput(
            attrs={"class": "input-number", "inputmode": "decimal", "autocomplete": "off"}
        ),
    )
