"""A batch's settlements: the same sums per token and period as one settlement per record."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

from usage.aggregates import Calendar
from usage.entries import UsageEntry
from usage.quota import Period
from usage.services import batch_settlements, settlement

T0 = dt.datetime(2026, 11, 30, 22, 0, tzinfo=dt.UTC)


def _entries(rng: random.Random, count: int) -> list[UsageEntry]:
    out = []
    for number in range(count):
        moment = T0 + dt.timedelta(minutes=rng.randint(0, 60 * 30))  # across a month's end
        day = moment.date() if rng.random() < 0.7 else None  # the relay notes it when it held
        out.append(
            UsageEntry(
                created_at=moment,
                request_id=f"r{number}",
                token_id=rng.choice([None, 1, 2, 3]),
                client_ip=None,
                endpoint="/v1/chat/completions",
                reserved=rng.choice([0, 0, 50, 900]),
                cost=rng.choice([0, 0, 30, 700, -5]),
                day=day,
                month=None if day is None else day.replace(day=1),
            )
        )
    return out


def _per_record(entries: list[UsageEntry]) -> dict[tuple[int, Period], tuple[int, int]]:
    sums: dict[tuple[int, Period], list[int]] = defaultdict(lambda: [0, 0])
    calendar = Calendar()
    for entry in entries:
        item = settlement(entry, calendar)
        if item is not None:
            sums[(item.token_id, item.period)][0] += item.reserved
            sums[(item.token_id, item.period)][1] += item.cost
    return {key: (reserved, cost) for key, (reserved, cost) in sums.items()}


def test_it_sums_what_each_record_would_settle() -> None:
    rng = random.Random(7)
    for _ in range(20):
        entries = _entries(rng, rng.randint(0, 300))
        batch = batch_settlements(entries, Calendar())
        assert {(s.token_id, s.period): (s.reserved, s.cost) for s in batch} == _per_record(entries)
        assert len({(s.token_id, s.period) for s in batch}) == len(batch)  # one per key


def test_a_record_with_nothing_to_settle_adds_nothing() -> None:
    entry = UsageEntry(
        created_at=T0, request_id="r", token_id=1, client_ip=None, endpoint="/v1/x", cost=0
    )
    anonymous = UsageEntry(
        created_at=T0, request_id="s", token_id=None, client_ip=None, endpoint="/v1/x", cost=9
    )
    assert batch_settlements([entry, anonymous], Calendar()) == []
