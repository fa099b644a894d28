"""Writing usage records: whole batches at once, off the relay's event loop (writer.py).

Multi-row INSERTs (as many rows each as the backend takes parameters for), values adapted by
the database backend as the ORM would: a model instance and `bulk_create` cost ~60 µs a row,
this ~10, and the writer runs on every request's behalf (bench: the relay's CPU budget). Not
`executemany`: SQLite's driver gives up and takes back the GIL for every row, and while the
busy event loop holds it each row waits its turn, so a batch of 1000 held its transaction
(and its thread) for a second or more under load.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import lru_cache, partial
from itertools import chain
from typing import Any

from django.db import connection, transaction
from django.db.backends.base.operations import BaseDatabaseOperations as BaseOperations
from django.utils.ipv6 import clean_ipv6_address

from audit.services import Actor, audit_record, changed_fields
from core.money import format_money
from core.state import bump_relay_version
from usage.aggregates import Calendar, datetime_adapter, roll_up
from usage.entries import UsageEntry
from usage.models import (
    MAX_ENDPOINT,
    MAX_ERROR,
    MAX_MODEL,
    GroupMultiplier,
    ModelPrice,
    UsageRecord,
)
from usage.price_selectors import format_multiplier
from usage.quota import Period, Settlement, settle

# Bounds the positive integer columns hold on every database (PostgreSQL's `integer`).
MAX_COUNT = 2_147_483_647
COLUMNS = (
    "created_at",
    "request_id",
    "token_id",
    "client_ip",
    "endpoint",
    "requested_model",
    "upstream_model",
    "channel_id",
    "attempts",
    "status",
    "error",
    "stream",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "estimated",
    "unpriced",
    "cost",
    "latency_ms",
    "first_byte_ms",
)


def _count(value: int) -> int:
    if value.__class__ is int and 0 <= value <= MAX_COUNT:
        return value  # the relay's: a quarter of the general case's time, five times a record
    return min(max(int(value), 0), MAX_COUNT)


def _address(value: str | None) -> str | None:
    if not value:
        return None
    return _normalised_address(value)


# Cached: a batch holds few distinct clients, and parsing one costs more than the rest of its
# record's values together.
@lru_cache(maxsize=4096)
def _normalised_address(value: str) -> str | None:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None  # a unix socket's peer, say: no address to keep
    if isinstance(address, ipaddress.IPv4Address):
        return str(address)
    if address.scope_id:
        # A link-local peer comes with its interface (fe80::1%eth0): PostgreSQL's inet
        # refuses that, and one such record failed its whole batch, again and again.
        address = ipaddress.IPv6Address(str(address).partition("%")[0])
    # Django's spelling (an IPv4 client on a dual-stack socket is ::ffff:192.0.2.7, where
    # Python 3.11 writes ::ffff:c000:207), so the writer stores what the ORM would.
    return clean_ipv6_address(str(address))


@lru_cache(maxsize=64)
def _insert_sql(vendor: str, rows: int, marker: str) -> str:
    quote = connection.ops.quote_name
    values = f"({', '.join([marker] * len(COLUMNS))})"
    return (
        f"INSERT INTO {quote(UsageRecord._meta.db_table)} "
        f"({', '.join(quote(column) for column in COLUMNS)}) "
        f"VALUES {', '.join([values] * rows)}"
    )


def _rows(entries: Sequence[UsageEntry]) -> list[tuple[Any, ...]]:
    """The entries' values as the ORM would adapt them for this connection's backend.

    The adapters are picked once per batch: where the backend's is Django's default (SQLite)
    the cheaper equivalent is called, else the backend's own.
    """
    ops = connection.ops
    adapt_time = datetime_adapter()
    adapt_address = (
        None  # the default returns `value or None`: an address is already that
        if type(ops).adapt_ipaddressfield_value is BaseOperations.adapt_ipaddressfield_value
        else ops.adapt_ipaddressfield_value
    )
    if type(ops).adapt_json_value is BaseOperations.adapt_json_value:
        adapt_json: Callable[[Any], Any] = json.dumps  # the default, with no encoder
    else:
        adapt_json = partial(_adapt_json, ops)
    rows = []
    for entry in entries:
        address = _address(entry.client_ip)
        rows.append(
            (
                adapt_time(entry.created_at),
                entry.request_id[:128],
                entry.token_id,
                address if adapt_address is None else adapt_address(address),
                entry.endpoint[:MAX_ENDPOINT],
                entry.requested_model[:MAX_MODEL],
                entry.upstream_model[:MAX_MODEL],
                entry.channel_id,
                adapt_json(entry.attempts),
                min(max(entry.status, 0), 999),
                entry.error[:MAX_ERROR],
                entry.stream,
                _count(entry.prompt_tokens),
                _count(entry.completion_tokens),
                _count(entry.total_tokens),
                entry.estimated,
                entry.unpriced,
                max(entry.cost, 0),
                _count(entry.latency_ms),
                None if entry.first_byte_ms is None else _count(entry.first_byte_ms),
            )
        )
    return rows


def _adapt_json(ops: BaseOperations, value: Any) -> Any:
    return ops.adapt_json_value(value, None)


def settlement(entry: UsageEntry, calendar: Calendar | None = None) -> Settlement | None:
    """What the entry's request moves on its token's quota and budgets (None: nothing)."""
    if entry.token_id is None or not (entry.reserved or entry.cost):
        return None
    if entry.day is not None and entry.month is not None:
        period = Period(day=entry.day, month=entry.month)
    elif calendar is not None:
        period = calendar.period(entry.created_at)
    else:
        period = Period.at(entry.created_at)
    return Settlement(
        token_id=entry.token_id, reserved=entry.reserved, cost=max(entry.cost, 0), period=period
    )


def batch_settlements(entries: Sequence[UsageEntry], calendar: Calendar) -> list[Settlement]:
    """What a batch moves on its tokens' quotas and budgets: one Settlement per token and period.

    The same sums as a `settlement` per entry, added up in plain lists: a Settlement and a
    Period made for every record (frozen dataclasses, then hashed to group them) cost about
    10 µs a record, where a batch holds a handful of tokens.
    """
    totals: dict[tuple[int, dt.date, dt.date], list[int]] = {}
    for entry in entries:
        token_id = entry.token_id
        if token_id is None or not (entry.reserved or entry.cost):
            continue
        if entry.day is not None and entry.month is not None:
            key = (token_id, entry.day, entry.month)
        else:
            period = calendar.period(entry.created_at)
            key = (token_id, period.day, period.month)
        cost = max(entry.cost, 0)
        total = totals.get(key)
        if total is None:
            totals[key] = [entry.reserved, cost]
        else:
            total[0] += entry.reserved
            total[1] += cost
    return [
        Settlement(token_id=token_id, reserved=reserved, cost=cost, period=Period(day, month))
        for (token_id, day, month), (reserved, cost) in totals.items()
    ]


def store_usage(entries: Sequence[UsageEntry]) -> None:
    """One batch in one transaction: the records and what they cost their tokens' quotas.

    All written or none (so a failed batch is retried whole, never billed twice), and the
    quotas used always equal the sum of the records' costs.
    """
    if not entries:
        return
    rows = _rows(entries)
    per_statement = max(1, connection.ops.bulk_batch_size(COLUMNS, entries))
    calendar = Calendar()
    settlements = batch_settlements(entries, calendar)
    # Django's SQLite cursor turns each %s into the driver's ? with a regex over the whole
    # statement, every time (a µs or more a record); a ? it leaves as it is. Not while queries
    # are logged (DEBUG, tests counting queries): the log fills the %s in.
    marker = "?" if connection.vendor == "sqlite" and not connection.queries_logged else "%s"
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            cursor.execute(
                _insert_sql(connection.vendor, len(chunk), marker),
                list(chain.from_iterable(chunk)),
            )
        settle(settlements)
        roll_up(entries, calendar)


def store_settlements(settlements: Sequence[Settlement]) -> None:
    """Settlements of records the writer had to drop (its buffer full): the money still counts."""
    with transaction.atomic():
        settle(settlements)


# --- prices and group multipliers ----------------------------------------------------------
# Written by the Prices page and the admin API with values usage.forms has checked. The relay
# reads prices from its snapshot (usage.pricing), so each write bumps the relay version.

PRICE = "price"
GROUP_MULTIPLIER = "group_multiplier"
PRICE_FIELDS = ("input_per_million", "output_per_million", "per_request")


def _audited_price(price: ModelPrice) -> dict[str, str | None]:
    return {field: format_money(getattr(price, field)) for field in PRICE_FIELDS}


@transaction.atomic
def price_set(
    *,
    model: str,
    input_per_million: int,
    output_per_million: int,
    per_request: int,
    actor: Actor,
) -> ModelPrice:
    """Create or replace the price of `model` (amounts in core.money units)."""
    values = {
        "input_per_million": input_per_million,
        "output_per_million": output_per_million,
        "per_request": per_request,
    }
    price, created = ModelPrice.objects.select_for_update().get_or_create(
        model=model, defaults=values
    )
    if created:
        changes = changed_fields({}, _audited_price(price))
        action = "created"
    else:
        before = _audited_price(price)
        for field, value in values.items():
            setattr(price, field, value)
        changes = changed_fields(before, _audited_price(price))
        if not changes:
            return price  # nothing new: no event, and no relay reload for nothing
        price.save()
        action = "changed"
    audit_record(
        actor=actor,
        action=action,
        object_type=PRICE,
        object_id=price.pk,
        object_repr=price.model,
        changes=changes,
    )
    bump_relay_version()
    return price


@transaction.atomic
def price_delete(*, price: ModelPrice, actor: Actor) -> None:
    """The model is unpriced again: free for tokens without limits, refused for the others."""
    audit_record(
        actor=actor,
        action="deleted",
        object_type=PRICE,
        object_id=price.pk,
        object_repr=price.model,
        changes=changed_fields(_audited_price(price), dict.fromkeys(PRICE_FIELDS)),
    )
    price.delete()
    bump_relay_version()


@transaction.atomic
def group_multiplier_set(*, name: str, price_multiplier: Decimal, actor: Actor) -> GroupMultiplier:
    """Set the multiplier of group `name` (a group without a row pays the list price)."""
    row, created = GroupMultiplier.objects.select_for_update().get_or_create(
        name=name, defaults={"price_multiplier": price_multiplier}
    )
    before = "1" if created else format_multiplier(row.price_multiplier)
    row.price_multiplier = price_multiplier
    after = format_multiplier(price_multiplier)
    if before == after:
        return row
    if not created:
        row.save()
    audit_record(
        actor=actor,
        action="changed",
        object_type=GROUP_MULTIPLIER,
        object_id=row.pk,
        object_repr=row.name,
        changes={"price_multiplier": [before, after]},
    )
    bump_relay_version()
    return row
