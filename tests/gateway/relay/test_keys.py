"""Picking a channel's key per attempt: spread at random, in turn, refused keys left out."""

from __future__ import annotations

import random
from collections import Counter

from gateway.relay.keys import KeyPicker
from gateway.relay.routing import Route

KEYS = ((0, "sk-a"), (1, "sk-b"), (2, "sk-c"))


def route(mode: str = "random", keys: tuple[tuple[int, str], ...] = KEYS) -> Route:
    return Route(
        channel_id=7,
        name="multi",
        base_url="https://api.example.net/v1",
        api_key=keys[0][1] if keys else "sk-only",
        weight=1,
        priority=0,
        keys=keys,
        key_mode=mode,
    )


def test_a_single_key_route_goes_out_as_it_is() -> None:
    single = route(keys=((0, "sk-only"),))

    assert KeyPicker(random.Random(1)).choose(single) is single
    assert KeyPicker(random.Random(1)).choose(single, tried={0}) is None


def test_random_mode_spreads_over_every_key() -> None:
    picker = KeyPicker(random.Random(42))

    used = Counter(picker.choose(route()).api_key for _ in range(3000))  # type: ignore[union-attr]

    assert set(used) == {"sk-a", "sk-b", "sk-c"}
    assert min(used.values()) > 850


def test_round_robin_takes_the_keys_in_turn() -> None:
    picker = KeyPicker(random.Random(1))

    picked = [picker.choose(route("round_robin")) for _ in range(6)]

    assert [r.key_index for r in picked if r] == [0, 1, 2, 0, 1, 2]
    assert [r.api_key for r in picked if r][:3] == ["sk-a", "sk-b", "sk-c"]


def test_a_refused_key_is_left_out_until_its_time_passes() -> None:
    now = [0.0]
    picker = KeyPicker(random.Random(3), suspect_seconds=60, clock=lambda: now[0])
    picker.suspect(7, 1)

    assert {picker.choose(route()).key_index for _ in range(200)} == {0, 2}  # type: ignore[union-attr]
    now[0] = 61.0
    assert 1 in {picker.choose(route()).key_index for _ in range(200)}  # type: ignore[union-attr]


def test_a_request_tries_each_key_once_then_gives_up() -> None:
    picker = KeyPicker(random.Random(5))
    tried: set[int] = set()

    for _ in range(3):
        chosen = picker.choose(route(), tried)
        assert chosen is not None
        tried.add(chosen.key_index)

    assert tried == {0, 1, 2}
    assert picker.choose(route(), tried) is None


def test_when_every_left_key_is_suspect_one_is_still_tried() -> None:
    picker = KeyPicker(random.Random(5))
    for index, _ in KEYS:
        picker.suspect(7, index)

    assert picker.choose(route()) is not None
