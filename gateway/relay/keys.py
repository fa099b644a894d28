"""Which of a channel's keys an attempt uses: at random or in turn, refused ones left out.

A channel with one key costs nothing here (its route goes out as it is). With several, each
attempt gets a copy of the route carrying the chosen key. A key an upstream refused (401,
403, no quota) is left out by this process until its recheck says otherwise or
`suspect_seconds` pass; the recheck (recheck.py) disables it for every process when it
fails, and the relay's next reload drops it. A request that met a refused key tries the
channel again with another of its keys.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable, Collection

from gateway.relay.routing import Route

ROUND_ROBIN = "round_robin"


class KeyPicker:
    def __init__(
        self,
        rng: random.Random,
        *,
        suspect_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rng = rng
        self.suspect_seconds = suspect_seconds
        self._clock = clock
        self._turns: dict[int, int] = {}  # channel -> the next turn's number
        self._suspects: dict[tuple[int, int], float] = {}  # (channel, index) -> until

    def choose(self, route: Route, tried: Collection[int] = ()) -> Route | None:
        """The route with the key to use, None when every key was tried in this request."""
        keys = route.keys
        if len(keys) <= 1:
            if not keys or keys[0][0] not in tried:
                return route
            return None
        left = [key for key in keys if key[0] not in tried]
        if not left:
            return None
        trusted = [key for key in left if not self._is_suspect(route.channel_id, key[0])]
        # A suspect key is still better than no attempt at all.
        choices = trusted or left
        if route.key_mode == ROUND_ROBIN:
            turn = self._turns.get(route.channel_id, 0)
            self._turns[route.channel_id] = turn + 1
            index, key = choices[turn % len(choices)]
        else:
            index, key = choices[int(self.rng.random() * len(choices))]
        return dataclasses.replace(route, api_key=key, key_index=index)

    def suspect(self, channel_id: int, index: int) -> None:
        """An upstream refused this key: left out here until the time passes or it is cleared."""
        self._suspects[(channel_id, index)] = self._clock() + self.suspect_seconds

    def clear(self, channel_id: int, index: int) -> None:
        self._suspects.pop((channel_id, index), None)

    def _is_suspect(self, channel_id: int, index: int) -> bool:
        until = self._suspects.get((channel_id, index))
        if until is None:
            return False
        if self._clock() >= until:
            del self._suspects[(channel_id, index)]
            return False
        return True
