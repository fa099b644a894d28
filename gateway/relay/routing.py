"""Which channels may answer a request, and the weighted pick among them.

Everything here is pure: the table is built from plain rows (table.py loads them), and the
pick takes the random generator as an argument so tests can seed it. Which names a channel
serves, and which name goes upstream, are the channel app's rules (channels_admin/selectors.py).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice

from channels_admin.selectors import models_served


@dataclass(frozen=True, slots=True)
class Route:
    """An enabled channel as the relay needs it, its key already decrypted."""

    channel_id: int
    name: str
    base_url: str
    api_key: str
    weight: int
    priority: int
    model_mapping: Mapping[str, str] = field(default_factory=dict)
    # The channel's own timeouts (seconds); None: the TOLLGATE_*_TIMEOUT default.
    connect_timeout: float | None = None
    first_byte_timeout: float | None = None
    stream_idle_timeout: float | None = None
    total_timeout: float | None = None
    # Epoch seconds until which a 429 keeps the channel out of rotation (0: not cooling).
    # Compared with time.time() per request, so a cool-down ends without any reload.
    cooldown_until: float = 0.0
    # Models taken off this channel alone (the upstream said they do not exist).
    disabled_models: frozenset[str] = frozenset()
    kind: str = "openai"  # the API the upstream speaks (channels_admin.models.ChannelType)
    api_version: str = ""  # Azure OpenAI's api-version
    # A channel with several keys: (index, key) of each enabled one; `api_key` and `key_index`
    # are the one an attempt uses (keys.py picks it per attempt).
    keys: tuple[tuple[int, str], ...] = ()
    key_mode: str = "random"  # or "round_robin"
    key_index: int = 0


@dataclass(frozen=True, slots=True)
class ChannelRow:
    """What the loader reads from the database for one channel."""

    route: Route
    enabled: bool
    groups: Sequence[str]
    models: Sequence[str]


@dataclass(frozen=True)
class RoutingTable:
    # (group, model) -> tiers of routes, highest priority first.
    tiers: Mapping[tuple[str, str], tuple[tuple[Route, ...], ...]]
    # (group, model) pairs that only disabled channels serve: "exists, but not usable now".
    unavailable: frozenset[tuple[str, str]]
    models_by_group: Mapping[str, tuple[str, ...]]

    def candidates(self, group: str, model: str) -> tuple[tuple[Route, ...], ...]:
        return self.tiers.get((group, model), ())


EMPTY_TABLE = RoutingTable(tiers={}, unavailable=frozenset(), models_by_group={})


def build_routing_table(rows: Iterable[ChannelRow]) -> RoutingTable:
    by_pair: dict[tuple[str, str], list[Route]] = defaultdict(list)
    disabled_pairs: set[tuple[str, str]] = set()
    for row in rows:
        served = models_served(row.models, row.route.model_mapping)
        for group in row.groups:
            for model in served:
                if row.enabled and model not in row.route.disabled_models:
                    by_pair[(group, model)].append(row.route)
                else:
                    disabled_pairs.add((group, model))

    tiers: dict[tuple[str, str], tuple[tuple[Route, ...], ...]] = {}
    models_by_group: dict[str, set[str]] = defaultdict(set)
    for (group, model), routes in by_pair.items():
        by_priority: dict[int, list[Route]] = defaultdict(list)
        for route in routes:
            by_priority[route.priority].append(route)
        tiers[(group, model)] = tuple(
            tuple(by_priority[priority]) for priority in sorted(by_priority, reverse=True)
        )
        models_by_group[group].add(model)
    return RoutingTable(
        tiers=tiers,
        unavailable=frozenset(disabled_pairs - set(tiers)),
        models_by_group={group: tuple(sorted(models)) for group, models in models_by_group.items()},
    )


def pick_weighted(routes: Sequence[Route], rng: random.Random) -> Route:
    """One route, chosen in proportion to weight; all-zero weights mean uniform."""
    weighted = [route for route in routes if route.weight > 0]
    if not weighted:
        return routes[int(rng.random() * len(routes))]
    total = sum(route.weight for route in weighted)
    point = rng.random() * total
    for route in weighted:
        point -= route.weight
        if point < 0:
            return route
    return weighted[-1]


def attempt_order(tiers: Sequence[Sequence[Route]], rng: random.Random, limit: int) -> list[Route]:
    """The first `limit` routes of `iter_attempts`."""
    return list(islice(iter_attempts(tiers, rng), limit))


def iter_attempts(tiers: Sequence[Sequence[Route]], rng: random.Random) -> Iterator[Route]:
    """Routes to try in turn: the top tier by weight first, lower tiers only as fallbacks.

    Lazy, so a request that the first channel answers draws one pick, while one that has to
    skip busy channels can go on to the rest. A zero-weight channel beside non-zero ones is
    never picked, not even for a retry.
    """
    for tier in tiers:
        if len(tier) == 1:  # the common case: nothing to draw
            yield tier[0]
            continue
        remaining = list(tier)
        if any(route.weight > 0 for route in remaining):
            remaining = [route for route in remaining if route.weight > 0]
        while remaining:
            chosen = pick_weighted(remaining, rng)
            yield chosen
            remaining.remove(chosen)
