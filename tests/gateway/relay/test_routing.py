"""The pure routing functions, with seeded randomness."""

from __future__ import annotations

import random
from collections import Counter

from channels_admin.selectors import upstream_model
from gateway.relay.routing import (
    ChannelRow,
    Route,
    attempt_order,
    build_routing_table,
    pick_weighted,
)


def route(channel_id: int, *, weight: int = 1, priority: int = 0, **mapping: str) -> Route:
    return Route(
        channel_id=channel_id,
        name=f"c{channel_id}",
        base_url=f"https://c{channel_id}.example/v1",
        api_key=f"sk-key-{channel_id}",
        weight=weight,
        priority=priority,
        model_mapping=mapping,
    )


def row(
    r: Route,
    *,
    models: tuple[str, ...] = ("m",),
    groups: tuple[str, ...] = ("default",),
    enabled: bool = True,
) -> ChannelRow:
    return ChannelRow(route=r, enabled=enabled, groups=groups, models=models)


def test_picks_follow_the_weights() -> None:
    rng = random.Random(7)
    routes = [route(1, weight=1), route(2, weight=3)]

    counts = Counter(pick_weighted(routes, rng).channel_id for _ in range(4000))

    assert 900 <= counts[1] <= 1100
    assert 2900 <= counts[2] <= 3100


def test_a_seeded_pick_is_repeatable() -> None:
    routes = [route(1, weight=2), route(2, weight=5), route(3, weight=1)]

    first = [pick_weighted(routes, random.Random(42)).channel_id for _ in range(3)]
    again = [pick_weighted(routes, random.Random(42)).channel_id for _ in range(3)]

    assert first == again


def test_zero_weight_is_never_picked_beside_nonzero() -> None:
    rng = random.Random(1)
    routes = [route(1, weight=0), route(2, weight=1)]

    assert {pick_weighted(routes, rng).channel_id for _ in range(500)} == {2}


def test_all_zero_weights_pick_uniformly() -> None:
    rng = random.Random(3)
    routes = [route(1, weight=0), route(2, weight=0), route(3, weight=0)]

    counts = Counter(pick_weighted(routes, rng).channel_id for _ in range(3000))

    assert all(900 <= counts[i] <= 1100 for i in (1, 2, 3))


def test_the_table_tiers_by_priority_highest_first() -> None:
    table = build_routing_table(
        [row(route(1, priority=0)), row(route(2, priority=5)), row(route(3, priority=5))]
    )

    tiers = table.candidates("default", "m")

    assert [[r.channel_id for r in tier] for tier in tiers] == [[2, 3], [1]]


def test_the_table_serves_mapping_aliases_and_respects_groups() -> None:
    table = build_routing_table(
        [
            row(route(1, alias="m"), models=("m",), groups=("default", "vip")),
            row(route(2), models=("vip-model",), groups=("vip",)),
        ]
    )

    assert table.candidates("default", "alias")
    assert not table.candidates("default", "vip-model")
    assert table.candidates("vip", "vip-model")
    assert table.models_by_group["default"] == ("alias", "m")
    assert table.models_by_group["vip"] == ("alias", "m", "vip-model")


def test_disabled_channels_mark_a_model_unavailable_not_unknown() -> None:
    table = build_routing_table(
        [row(route(1), models=("only-disabled",), enabled=False), row(route(2), models=("m",))]
    )

    assert not table.candidates("default", "only-disabled")
    assert ("default", "only-disabled") in table.unavailable
    assert ("default", "m") not in table.unavailable


def test_attempts_try_the_top_tier_then_fall_back() -> None:
    tiers = ((route(1, priority=9), route(2, priority=9)), (route(3),))

    order = attempt_order(tiers, random.Random(5), limit=3)

    assert {r.channel_id for r in order[:2]} == {1, 2}
    assert order[2].channel_id == 3


def test_attempts_stop_at_the_limit_and_skip_zero_weights() -> None:
    tiers = ((route(1, weight=0), route(2, weight=1)), (route(3), route(4)))

    order = attempt_order(tiers, random.Random(5), limit=2)

    assert order[0].channel_id == 2
    assert order[1].channel_id in (3, 4)
    assert len(order) == 2


def test_a_route_maps_only_what_its_mapping_names() -> None:
    r = route(1, alias="upstream-name")

    assert upstream_model(r.model_mapping, "alias") == "upstream-name"
    assert upstream_model(r.model_mapping, "other") == "other"
