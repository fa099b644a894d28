"""A cap on requests in flight per channel in this process, so one channel (slow, hung, or
looping back to the gateway) cannot hold every upstream connection the others need.

The relay runs on one event loop per process, so plain counters suffice: no locks.
"""

from __future__ import annotations


class ChannelSlots:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._in_flight: dict[int, int] = {}

    def try_acquire(self, channel_id: int) -> bool:
        count = self._in_flight.get(channel_id, 0)
        if count >= self.limit:
            return False
        self._in_flight[channel_id] = count + 1
        return True

    def release(self, channel_id: int) -> None:
        count = self._in_flight.get(channel_id, 0) - 1
        if count > 0:
            self._in_flight[channel_id] = count
        else:
            self._in_flight.pop(channel_id, None)
