"""How healthy each channel is, read from the per-channel aggregates (ChannelHourly,
ChannelLatency, ChannelError) that usage/aggregates.py keeps as records are written.

Every read is one grouped query over an hour range, served by the tables' unique keys (they
start with `hour`), so a page shows any number of channels in a fixed number of queries.

Percentiles come from latency buckets: the buckets of the window are merged and a percentile
is the *upper bound* of the bucket it falls in ("p95 ≤ 750 ms"), never an interpolation: it is
an honest ceiling that needs no guess about how values spread inside a bucket. Past the last
bound it is "slower than" that bound.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.db.models import Sum
from django.utils import timezone

from channels_admin.models import Channel, ChannelError, ChannelHourly, ChannelLatency, LatencyKind

# Upper bounds (ms) of the latency buckets; the last bucket holds everything slower.
# (Here rather than in usage, which writes the buckets: channels_admin reads them and must not
# import usage.)
LATENCY_BOUNDS_MS = (
    25, 50, 100, 200, 300, 500, 750, 1_000, 1_500, 2_000, 3_000, 5_000, 7_500,
    10_000, 15_000, 20_000, 30_000, 60_000, 120_000, 300_000,
)  # fmt: skip
# "The last hour": the current UTC hour bucket and the one before, so a few minutes past the
# hour still show a full hour's traffic.
LAST_HOUR_BUCKETS = 2
LAST_DAY_BUCKETS = 24
TOP_ERRORS = 10


def latency_bucket(milliseconds: int) -> int:
    return bisect.bisect_left(LATENCY_BOUNDS_MS, milliseconds)


def hour_start(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def window_start(buckets: int, now: dt.datetime | None = None) -> dt.datetime:
    """The first hour of a window of `buckets` hourly buckets ending with the current one."""
    return hour_start(now or timezone.now()) - dt.timedelta(hours=buckets - 1)


@dataclass(frozen=True, slots=True)
class Percentile:
    """A percentile read from buckets: at most `ms`, or slower than `ms` when `slower`."""

    ms: int
    slower: bool = False


def percentile(counts: Mapping[int, int], percent: int) -> Percentile | None:
    """The `percent` (50 for p50) percentile of values counted per bucket index."""
    total = sum(counts.values())
    if total <= 0:
        return None
    # Nearest rank, in integers: the smallest bucket whose running count reaches it.
    rank = max(1, -(-total * percent // 100))
    running = 0
    for bucket in sorted(counts):
        running += counts[bucket]
        if running >= rank:
            if bucket >= len(LATENCY_BOUNDS_MS):
                return Percentile(LATENCY_BOUNDS_MS[-1], slower=True)
            return Percentile(LATENCY_BOUNDS_MS[bucket])
    return Percentile(LATENCY_BOUNDS_MS[-1], slower=True)  # pragma: no cover - unreachable


@dataclass(slots=True)
class ChannelHealth:
    channel_id: int
    attempts: int = 0
    successes: int = 0
    latency: dict[int, int] = field(default_factory=dict)  # bucket -> count
    first_byte: dict[int, int] = field(default_factory=dict)

    @property
    def failures(self) -> int:
        return self.attempts - self.successes

    @property
    def success_rate(self) -> float | None:
        """Percent of attempts that succeeded; None without attempts."""
        if not self.attempts:
            return None
        return 100.0 * self.successes / self.attempts

    @property
    def latency_p50(self) -> Percentile | None:
        return percentile(self.latency, 50)

    @property
    def latency_p95(self) -> Percentile | None:
        return percentile(self.latency, 95)

    @property
    def first_byte_p50(self) -> Percentile | None:
        return percentile(self.first_byte, 50)

    @property
    def first_byte_p95(self) -> Percentile | None:
        return percentile(self.first_byte, 95)


def health_since(
    since: dt.datetime, channel_ids: Iterable[int] | None = None
) -> dict[int, ChannelHealth]:
    """Each channel's attempts, successes and latency buckets from `since` on (two queries).

    `channel_ids` limits it to those channels (a page of the list); None means all.
    """
    hourly = ChannelHourly.objects.filter(hour__gte=since)
    latencies = ChannelLatency.objects.filter(hour__gte=since)
    if channel_ids is not None:
        ids = list(channel_ids)
        hourly = hourly.filter(channel_id__in=ids)
        latencies = latencies.filter(channel_id__in=ids)
    found: dict[int, ChannelHealth] = {}
    rows = (
        hourly.order_by()
        .values("channel_id")
        .annotate(attempts=Sum("attempts"), successes=Sum("successes"))
    )
    for row in rows:
        found[row["channel_id"]] = ChannelHealth(
            row["channel_id"], attempts=row["attempts"] or 0, successes=row["successes"] or 0
        )
    buckets = (
        latencies.order_by().values_list("channel_id", "kind", "bucket").annotate(n=Sum("count"))
    )
    for channel_id, kind, bucket, count in buckets:
        health = found.setdefault(channel_id, ChannelHealth(channel_id))
        into = health.first_byte if kind == LatencyKind.FIRST_BYTE else health.latency
        into[bucket] = into.get(bucket, 0) + (count or 0)
    return found


def last_hour_health(
    channel_ids: Iterable[int] | None = None, now: dt.datetime | None = None
) -> dict[int, ChannelHealth]:
    return health_since(window_start(LAST_HOUR_BUCKETS, now), channel_ids)


def attach_last_hour_health(channels: Iterable[Channel]) -> None:
    """Put each channel's last-hour health on it (`channel.last_hour`, None without traffic),
    read for all of them at once: the list shows a page of channels in two queries."""
    shown = list(channels)
    found = last_hour_health([channel.pk for channel in shown])
    for channel in shown:
        channel.last_hour = found.get(channel.pk)  # type: ignore[attr-defined]


def last_day_health(
    channel_ids: Iterable[int] | None = None, now: dt.datetime | None = None
) -> dict[int, ChannelHealth]:
    return health_since(window_start(LAST_DAY_BUCKETS, now), channel_ids)


@dataclass(frozen=True, slots=True)
class ErrorCount:
    channel_id: int
    status: int  # 0: no HTTP answer
    error: str
    count: int


def top_errors(
    since: dt.datetime, *, channel_id: int | None = None, limit: int = TOP_ERRORS
) -> list[ErrorCount]:
    """The failures behind the success rates: the commonest (status, error) since `since`."""
    errors = ChannelError.objects.filter(hour__gte=since)
    if channel_id is not None:
        errors = errors.filter(channel_id=channel_id)
    rows = (
        errors.order_by()
        .values_list("channel_id", "status", "error")
        .annotate(n=Sum("count"))
        .order_by("-n", "channel_id", "status", "error")[:limit]
    )
    return [ErrorCount(cid, status, error, n or 0) for cid, status, error, n in rows]


@dataclass(frozen=True, slots=True)
class HourAttempts:
    hour: dt.datetime
    attempts: int
    successes: int

    @property
    def success_rate(self) -> float | None:
        return 100.0 * self.successes / self.attempts if self.attempts else None


def hourly_attempts(
    channel_id: int, *, hours: int = LAST_DAY_BUCKETS, now: dt.datetime | None = None
) -> list[HourAttempts]:
    """One channel's attempts and successes per hour, oldest first, hours without any as 0."""
    first = window_start(hours, now)
    counted: dict[dt.datetime, tuple[int, int]] = defaultdict(lambda: (0, 0))
    rows = ChannelHourly.objects.filter(channel_id=channel_id, hour__gte=first).values_list(
        "hour", "attempts", "successes"
    )
    for hour, attempts, successes in rows:
        counted[hour_start(hour)] = (attempts, successes)
    return [
        HourAttempts(hour, *counted[hour])
        for hour in (first + dt.timedelta(hours=step) for step in range(hours))
    ]
