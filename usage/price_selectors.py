"""Reads about prices and group multipliers: the API's shapes, every known group, and the
models in use that have no price (the overview lists them)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from channels_admin.selectors import groups_in_use, served_model_names
from core.money import format_money
from tokens.models import Token
from usage.models import MULTIPLIER_PLACES, GroupMultiplier, ModelPrice, UsageRecord

ONE = Decimal(1)
# The overview names at most this many unpriced models (and says how many it left out).
UNPRICED_SHOWN = 20
# Models of usage records count as "in use" for this long.
IN_USE_DAYS = 30
# At most this many distinct requested models are walked (one index probe each).
MAX_MODELS_WALKED = 1000


def prices() -> QuerySet[ModelPrice]:
    return ModelPrice.objects.order_by("model")


def price_as_dict(price: ModelPrice) -> dict[str, Any]:
    return {
        "model": price.model,
        "input_per_million": format_money(price.input_per_million),
        "output_per_million": format_money(price.output_per_million),
        "per_request": format_money(price.per_request),
    }


def format_multiplier(value: Decimal) -> str:
    """A multiplier as the API and the pages show it: "1", "0.8", "1.25" (never "1.000000")."""
    text = f"{Decimal(value).quantize(Decimal(1).scaleb(-MULTIPLIER_PLACES)):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


@dataclass(frozen=True, slots=True)
class GroupPrice:
    """A group and the multiplier its tokens pay (1 when none is set)."""

    name: str
    price_multiplier: Decimal
    is_set: bool

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "price_multiplier": format_multiplier(self.price_multiplier)}


def _name_order(name: str) -> tuple[str, str]:
    # As channels_admin.selectors sorts groups: case-insensitively, then by case.
    return (name.lower(), name)


def group_prices() -> list[GroupPrice]:
    """Every group known: channels' groups, "default", tokens' groups and groups with a
    multiplier set; sorted case-insensitively."""
    multipliers = {row.name: row.price_multiplier for row in GroupMultiplier.objects.all()}
    names = set(groups_in_use(with_default=True))
    names.update(Token.objects.order_by().values_list("group", flat=True).distinct())
    names.update(multipliers)
    return [
        GroupPrice(name, Decimal(multipliers.get(name, ONE)), name in multipliers)
        for name in sorted(names, key=_name_order)
    ]


def group_price(name: str) -> GroupPrice:
    row = GroupMultiplier.objects.filter(name=name).first()
    if row is None:
        return GroupPrice(name, ONE, False)
    return GroupPrice(name, Decimal(row.price_multiplier), True)


def _recent_unpriced_requested_models(since: dt.datetime) -> list[str]:
    """Requested models with a record since `since` and no price, in name order.

    A loose index scan over usage_model_time (requested_model, created_at): one probe per
    distinct model instead of reading every record of the window, which on a busy gateway is
    millions of rows. Then one probe each for "used since" and "has a price".
    """
    quote = connection.ops.quote_name
    records = quote(UsageRecord._meta.db_table)
    prices_table = quote(ModelPrice._meta.db_table)
    model_column = quote("requested_model")
    sql = f"""
        WITH RECURSIVE walked(name, n) AS (
            SELECT (SELECT {model_column} FROM {records} WHERE {model_column} > ''
                    ORDER BY {model_column} LIMIT 1), 1
            UNION ALL
            SELECT (SELECT r.{model_column} FROM {records} r WHERE r.{model_column} > walked.name
                    ORDER BY r.{model_column} LIMIT 1), walked.n + 1
            FROM walked WHERE walked.name IS NOT NULL AND walked.n < %s
        )
        SELECT walked.name FROM walked
        WHERE walked.name IS NOT NULL
          AND EXISTS (SELECT 1 FROM {records} u
                      WHERE u.{model_column} = walked.name AND u.{quote("created_at")} >= %s)
          AND NOT EXISTS (SELECT 1 FROM {prices_table} p WHERE p.{quote("model")} = walked.name)
        ORDER BY walked.name
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [MAX_MODELS_WALKED, connection.ops.adapt_datetimefield_value(since)])
        return [name for (name,) in cursor.fetchall()]


def unpriced_models(*, now: dt.datetime | None = None) -> list[str]:
    """Models in use without a price: what enabled channels serve, and what clients asked
    for in the last IN_USE_DAYS days; sorted case-insensitively."""
    since = (now or timezone.now()) - dt.timedelta(days=IN_USE_DAYS)
    served = served_model_names()
    priced = set(ModelPrice.objects.filter(model__in=served).values_list("model", flat=True))
    names = {name for name in served if name not in priced}
    names.update(_recent_unpriced_requested_models(since))
    return sorted(names, key=_name_order)
