"""usage.services price_set, price_delete, group_multiplier_set: one transaction each, with
its audit event and a relay-version bump; and usage.price_selectors.unpriced_models."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from audit.models import AuditEvent
from core.models import RelayState
from tests.support.audit import ALICE, only_event
from tests.support.factories import make_channel
from usage.models import GroupMultiplier, ModelPrice, UsageRecord
from usage.price_selectors import group_prices, unpriced_models
from usage.pricing import load_price_book
from usage.services import group_multiplier_set, price_delete, price_set

pytestmark = pytest.mark.django_db


def relay_version() -> int:
    return RelayState.objects.filter(pk=1).values_list("version", flat=True).first() or 0


def set_price(model: str = "gpt-4o", **amounts: int) -> ModelPrice:
    values = {"input_per_million": 0, "output_per_million": 0, "per_request": 0, **amounts}
    return price_set(model=model, actor=ALICE, **values)


def record(model: str, *, days_ago: float = 0) -> None:
    UsageRecord.objects.create(
        request_id="req",
        endpoint="/v1/chat/completions",
        requested_model=model,
        status=200,
        created_at=timezone.now() - dt.timedelta(days=days_ago),
    )


# --- writes ----------------------------------------------------------------------------


def test_price_set_creates_then_replaces_and_the_relay_reads_it() -> None:
    set_price("org/m", input_per_million=2_000_000_000, per_request=7)
    set_price("org/m", output_per_million=5)
    price = ModelPrice.objects.get()
    assert (price.input_per_million, price.output_per_million, price.per_request) == (0, 5, 0)
    book = load_price_book()
    assert book.price("org/m") is not None
    assert book.price("org/m").output_per_million == 5  # type: ignore[union-attr]


def test_each_write_bumps_the_relay_version() -> None:
    seen = [relay_version()]
    price = set_price(input_per_million=1)
    seen.append(relay_version())
    set_price(input_per_million=2)
    seen.append(relay_version())
    group_multiplier_set(name="vip", price_multiplier=Decimal("1.5"), actor=ALICE)
    seen.append(relay_version())
    price_delete(price=ModelPrice.objects.get(pk=price.pk), actor=ALICE)
    seen.append(relay_version())
    assert seen == sorted(set(seen))  # each write moved it on


def test_a_write_that_changes_nothing_records_and_bumps_nothing() -> None:
    set_price(input_per_million=1)
    group_multiplier_set(name="vip", price_multiplier=Decimal("2"), actor=ALICE)
    AuditEvent.objects.all().delete()
    start = relay_version()
    set_price(input_per_million=1)
    group_multiplier_set(name="vip", price_multiplier=Decimal("2.000000"), actor=ALICE)
    assert not AuditEvent.objects.exists()
    assert relay_version() == start


def test_events_say_who_acted_and_what_changed() -> None:
    set_price("org/m", input_per_million=2_500_000_000)
    event = only_event()
    assert (event.actor_kind, event.actor, event.ip) == ("user", "alice", "192.0.2.7")
    assert (event.action, event.object_type, event.object_repr) == ("created", "price", "org/m")
    assert event.changes == {
        "input_per_million": [None, "2.5"],
        "output_per_million": [None, "0"],
        "per_request": [None, "0"],
    }


def test_group_multiplier_set_records_the_old_and_new_multiplier() -> None:
    group_multiplier_set(name="vip", price_multiplier=Decimal("0.75"), actor=ALICE)
    event = only_event()
    assert (event.action, event.object_type, event.object_repr) == (
        "changed",
        "group_multiplier",
        "vip",
    )
    assert event.changes == {"price_multiplier": ["1", "0.75"]}
    assert load_price_book().multiplier("vip") == Decimal("0.75")


def test_a_failed_transaction_leaves_no_price_no_event_and_no_bump() -> None:
    start = relay_version()
    with pytest.raises(RuntimeError), transaction.atomic():
        set_price(input_per_million=1)
        raise RuntimeError("the caller failed")
    assert not ModelPrice.objects.exists()
    assert not AuditEvent.objects.exists()
    assert relay_version() == start


# --- reads -----------------------------------------------------------------------------


def test_group_prices_mark_which_groups_have_a_multiplier() -> None:
    GroupMultiplier.objects.create(name="vip", price_multiplier=Decimal("2"))
    assert [(g.name, g.price_multiplier, g.is_set) for g in group_prices()] == [
        ("default", Decimal(1), False),
        ("vip", Decimal(2), True),
    ]


def test_unpriced_models_are_served_or_recently_asked_for_and_have_no_price() -> None:
    make_channel(models=["gpt-4o", "org/model-x"], model_mapping={"fast": "gpt-4o"})
    make_channel(name="off", models=["disabled-model"], status="disabled")
    set_price("gpt-4o", input_per_million=1)
    record("asked/model", days_ago=1)
    record("asked/model", days_ago=2)
    record("Old-model", days_ago=31)
    record("gpt-4o")
    record("")
    set_price("priced-and-asked")
    record("priced-and-asked")

    assert unpriced_models() == ["asked/model", "fast", "org/model-x"]


def test_unpriced_models_walk_at_most_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("usage.price_selectors.MAX_MODELS_WALKED", 2)
    for name in ("a", "b", "c", "d"):
        record(name)
    assert unpriced_models() == ["a", "b"]
