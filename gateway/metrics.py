"""Prometheus metrics: what the relay counts, and `GET /metrics`, which serves them.

Served by gunicorn, every worker writes its samples to its own files in
PROMETHEUS_MULTIPROC_DIR (gateway.gunicorn_conf sets one up per server start) and the worker
that answers a scrape adds them all up (prometheus-client's multiprocess mode), so the
counts are the whole server's whichever worker answers. Without that directory (tests,
`runserver`) the samples stay in the process.

The recording functions sit on the relay's hot path: each is a dict lookup and an increment.
prometheus-client's `.labels(...)` costs more than the increment itself, so each label
combination's child is looked up once and kept. Label values are bounded: endpoints map to a
fixed set, model names come from the routing table (and are capped all the same), channel
and group names are the admin's; never a token or a request id.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Literal

from asgiref.sync import sync_to_async
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    values,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from gateway.metric_values import buffered_values
from gateway.metric_values import flush as flush_values

log = logging.getLogger(__name__)

# In multiprocess mode prometheus-client asks the process id before every update, to notice a
# fork: `os.getpid()` is a system call, and a request makes about 15 updates (strace: 17
# getpid calls a request against the floor's 2). The id is kept here instead, and renewed in
# the child of every fork, which is when it changes. And the updates add up in memory and
# reach the files in batches (metric_values.py). Before any metric exists below.
_pid = [os.getpid()]
os.register_at_fork(after_in_child=lambda: _pid.__setitem__(0, os.getpid()))
if getattr(values.ValueClass, "_multiprocess", False):
    values.ValueClass = buffered_values(
        values.MultiProcessValue(process_identifier=lambda: _pid[0])
    )

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"

AttemptOutcome = Literal["answered", "failed", "interrupted"]
FailureReason = Literal[
    "unreachable",
    "timeout",
    "http_5xx",
    "rate_limited",
    "refused",
    "model_missing",
    "garbage",
    "client_error",
]
QuotaReason = Literal["quota", "daily", "monthly", "model_not_priced"]
RateLimit = Literal["requests", "tokens"]
CHANNEL_STATES = ("enabled", "disabled", "auto_disabled", "cooling_down")

# The endpoint label: the /v1 paths the README names; any other path is "other", so a client
# cannot mint new series by inventing paths (or model ids under /v1/models/).
KNOWN_ENDPOINTS = frozenset(
    "/v1" + path
    for path in (
        "/chat/completions",
        "/completions",
        "/embeddings",
        "/moderations",
        "/responses",
        "/messages",
        "/messages/count_tokens",
        "/models",
        "/audio/speech",
        "/audio/transcriptions",
        "/audio/translations",
        "/images/generations",
        "/images/edits",
        "/images/variations",
        "/rerank",
    )
)
OTHER = "other"
MODEL_ENDPOINT = "/v1/models/{id}"
# Distinct model label values kept at most; past it a new name counts as "other". The relay
# passes configured names only, so this is a safety net, not a limit anyone should reach.
MAX_MODEL_LABELS = 2000
# Label combinations cached at most (the cache is cleared, not the metrics, past it).
MAX_CACHED_CHILDREN = 50_000

# Seconds. LLM answers take from a fraction of a second (embeddings) to many minutes (long
# reasoning streams); the first byte of a stream comes much sooner than its end.
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1800)
FIRST_BYTE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300)

# Not prometheus-client's default registry: /metrics shows these and nothing a library
# registers there by itself. `_created` series are left out: the multiprocess collector has
# none, and a scrape should not differ by whether the server runs one process or several.
disable_created_metrics()
REGISTRY = CollectorRegistry(auto_describe=True)

_requests = Counter(
    "tollgate_requests",
    "Relay requests answered, by endpoint, model, HTTP status and token group.",
    ["endpoint", "model", "status", "group"],
    registry=REGISTRY,
)
_duration = Histogram(
    "tollgate_request_duration_seconds",
    "Time from a relay request's arrival to the end of its answer.",
    ["endpoint"],
    buckets=DURATION_BUCKETS,
    registry=REGISTRY,
)
_first_byte = Histogram(
    "tollgate_time_to_first_byte_seconds",
    "Time from a relay request's arrival to its response head (a stream's first event).",
    ["endpoint"],
    buckets=FIRST_BYTE_BUCKETS,
    registry=REGISTRY,
)
_attempts = Counter(
    "tollgate_upstream_attempts",
    "Tries of an upstream channel, by outcome (answered, failed, interrupted).",
    ["channel", "outcome"],
    registry=REGISTRY,
)
_failures = Counter(
    "tollgate_upstream_failures",
    "Failed tries of an upstream channel, by reason.",
    ["channel", "reason"],
    registry=REGISTRY,
)
_open_streams = Gauge(
    "tollgate_open_streams",
    "Streamed answers being relayed right now.",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
_quota_rejections = Counter(
    "tollgate_quota_rejections",
    "Requests refused for a token's quota or budget, or a model with no price.",
    ["reason"],
    registry=REGISTRY,
)
_rate_limit_rejections = Counter(
    "tollgate_rate_limit_rejections",
    "Requests refused by a token's rate limit (requests or tokens per minute).",
    ["limit"],
    registry=REGISTRY,
)
_usage_buffer = Gauge(
    "tollgate_usage_buffer_records",
    "Usage records waiting to be written to the database.",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)

_request_children: dict[tuple[str, str, int, str], Any] = {}
_endpoint_children: dict[str, tuple[Any, Any]] = {}
_attempt_children: dict[tuple[str, str], Any] = {}
_failure_children: dict[tuple[str, str], Any] = {}
_quota_children: dict[str, Any] = {}
_rate_limit_children: dict[str, Any] = {}
_model_labels: set[str] = set()


def endpoint_label(endpoint: str) -> str:
    if endpoint in KNOWN_ENDPOINTS:
        return endpoint
    if endpoint.startswith("/v1/models/"):
        return MODEL_ENDPOINT
    return OTHER


def _model_label(model: str) -> str:
    if model in _model_labels:
        return model
    if len(_model_labels) >= MAX_MODEL_LABELS:
        return OTHER
    _model_labels.add(model)
    return model


def observe_request(
    endpoint: str,
    model: str,
    status: int,
    group: str,
    duration: float,
    first_byte: float | None,
) -> None:
    """One relay request ended. `endpoint`: its path ("/v1/chat/completions"); `model`: the
    configured model it was routed to, "" when none was (an unknown model, a refused
    token); `duration` and `first_byte`: seconds since it arrived (`first_byte` None when no
    response head went out)."""
    key = (endpoint, model, status, group)
    child = _request_children.get(key)
    if child is None:
        child = _request_child(key)
    child.inc()
    timers = _endpoint_children.get(endpoint)
    if timers is None:
        timers = _endpoint_timers(endpoint)
    timers[0].observe(duration)
    if first_byte is not None:
        timers[1].observe(first_byte)


def _request_child(key: tuple[str, str, int, str]) -> Any:
    endpoint, model, status, group = key
    label = _model_label(model)
    child = _requests.labels(endpoint_label(endpoint), label, str(status), group)
    if label == model:  # an over-the-cap name is not kept: the cache stays bounded too
        _remember(_request_children, key, child)
    return child


def _endpoint_timers(endpoint: str) -> tuple[Any, Any]:
    label = endpoint_label(endpoint)
    timers = (_duration.labels(label), _first_byte.labels(label))
    _remember(_endpoint_children, endpoint, timers)
    return timers


def _remember(cache: dict[Any, Any], key: Any, child: Any) -> None:
    if len(cache) >= MAX_CACHED_CHILDREN:
        cache.clear()
    cache[key] = child


def observe_attempt(channel: str, outcome: AttemptOutcome) -> None:
    """One try of an upstream channel ended (`channel`: its name)."""
    key = (channel, outcome)
    child = _attempt_children.get(key)
    if child is None:
        child = _attempts.labels(channel, outcome)
        _remember(_attempt_children, key, child)
    child.inc()


def observe_failure(channel: str, reason: FailureReason) -> None:
    """Why a try of `channel` failed; called beside observe_attempt(channel, "failed")."""
    key = (channel, reason)
    child = _failure_children.get(key)
    if child is None:
        child = _failures.labels(channel, reason)
        _remember(_failure_children, key, child)
    child.inc()


# This process's own count too: the relay's collector (relay/collector.py) reads it.
_open_here = 0


def stream_opened() -> None:
    global _open_here
    _open_here += 1
    _open_streams.inc()


def stream_closed() -> None:
    global _open_here
    _open_here -= 1
    _open_streams.dec()


def open_streams_here() -> int:
    return _open_here


def quota_rejected(reason: QuotaReason | str) -> None:
    """A request refused by its token's spending limits: `reason` is one of QuotaReason
    (the billing's own "ran out" names: quota, daily, monthly; or model_not_priced)."""
    child = _quota_children.get(reason)
    if child is None:
        child = _quota_children[reason] = _quota_rejections.labels(reason)
    child.inc()


def rate_limited(limit: RateLimit) -> None:
    child = _rate_limit_children.get(limit)
    if child is None:
        child = _rate_limit_children[limit] = _rate_limit_rejections.labels(limit)
    child.inc()


def start_worker() -> None:
    """In a worker just forked from the master (which loads the app: gunicorn_conf.py).

    prometheus_client moves a value to this process's own file when it is next touched;
    the live gauges are touched now, so each worker's file is there from its start.
    """
    _open_streams.set(0)
    _usage_buffer.set(0)


def set_usage_buffer(records: int) -> None:
    """This process's usage records not written yet (the gauge sums every live worker's)."""
    _usage_buffer.set(records)


# --- Channel status: read from the database when scraped ----------------------------------

ChannelRow = tuple[str, str, bool]  # name, status, cooling down


class ChannelStatusCollector(Collector):
    """tollgate_channel_status{channel, status}: how many channels of that name are in that
    status (1 or 0 for a unique name), every status listed, as Prometheus's enum pattern
    has it, so `== 1` finds them and a change shows as a step."""

    def __init__(self, rows: Iterable[ChannelRow]) -> None:
        self.rows = list(rows)

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "tollgate_channel_status",
            "Channels by name and status (enabled, disabled, auto_disabled, cooling_down).",
            labels=["channel", "status"],
        )
        counts: dict[str, dict[str, int]] = {}
        for name, status, cooling in self.rows:
            state = "cooling_down" if cooling and status == "enabled" else status
            per_name = counts.setdefault(name, dict.fromkeys(CHANNEL_STATES, 0))
            per_name[state] = per_name.get(state, 0) + 1
        for name in sorted(counts):
            for state, count in counts[name].items():
                family.add_metric([name, state], count)
        yield family


def channel_rows() -> list[ChannelRow]:
    """Every channel's name and status, in one query (a cooling channel is still "enabled"
    in the database: its cool-down's end says it is cooling)."""
    from django.db import close_old_connections, connection
    from django.utils import timezone

    from channels_admin.models import Channel

    # No request cycle closes this connection: drop a broken or expired one first, as the
    # relay's database calls do (gateway.relay.db). Never inside a (test's) transaction.
    if not connection.in_atomic_block:
        close_old_connections()
    now = timezone.now()
    return [
        (name, status, cooldown_until is not None and cooldown_until > now)
        for name, status, cooldown_until in Channel.objects.values_list(
            "name", "status", "cooldown_until"
        )
    ]


class _Collectors(Collector):
    def __init__(self, collectors: Sequence[Any]) -> None:
        self.collectors = collectors

    def collect(self) -> Iterator[Metric]:
        for collector in self.collectors:
            yield from collector.collect()


def render(rows: Iterable[ChannelRow] | None, accept: str = "") -> tuple[bytes, str]:
    """The exposition body and its content type: every worker's samples when the server runs
    several (PROMETHEUS_MULTIPROC_DIR), else this process's, and the channels' status."""
    path = os.environ.get(MULTIPROC_DIR_ENV)
    collectors: list[Any] = [MultiProcessCollector(None, path) if path else REGISTRY]
    if rows is not None:
        collectors.append(ChannelStatusCollector(rows))
    encode, content_type = choose_encoder(accept)
    return encode(_Collectors(collectors)), content_type


# --- GET /metrics ---------------------------------------------------------------------------

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class MetricsEndpoint:
    """The ASGI route for GET /metrics: a scraper shows the bearer token, or connects from an
    allowed address. A refusal is 401 when a token would have let it in, else 403."""

    def __init__(
        self,
        *,
        token: str,
        allow: Iterable[str],
        read_channels: Callable[[], list[ChannelRow]] = channel_rows,
    ) -> None:
        self.token = token.encode()
        self.allow: tuple[Network, ...] = tuple(
            ipaddress.ip_network(item, strict=False) for item in allow
        )
        self.read_channels = read_channels

    def allows(self, scope: dict[str, Any]) -> int:
        """200 when the scraper may read the metrics, else the status that refuses it."""
        if self.token:
            presented = _bearer(scope["headers"])
            if presented is not None and hmac.compare_digest(presented, self.token):
                return 200
        client = scope.get("client")
        if client and self.allow and _address_in(client[0], self.allow):
            return 200
        return 401 if self.token else 403

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await _send_text(send, 405, b"Method not allowed.\n", [(b"allow", b"GET, HEAD")])
            return
        status = self.allows(scope)
        if status != 200:
            extra = [(b"www-authenticate", b'Bearer realm="metrics"')] if status == 401 else []
            await _send_text(send, status, b"Not allowed to read the metrics.\n", extra)
            return
        accept = _header(scope["headers"], b"accept").decode("latin-1")
        body, content_type = await self._scrape(accept)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", content_type.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )

    async def _scrape(self, accept: str) -> tuple[bytes, str]:
        try:
            rows: list[ChannelRow] | None = await sync_to_async(self.read_channels)()
        except Exception:
            # The relay's own counts still matter most when the database is away.
            log.exception("metrics: the channels' status could not be read")
            rows = None
        flush_values()  # this worker's own counts, up to now
        # Reading every worker's files is disk work: off the event loop.
        return await asyncio.to_thread(render, rows, accept)


def _bearer(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    value = _header(headers, b"authorization")
    scheme, _, credential = value.partition(b" ")
    if scheme.lower() != b"bearer" or not credential.strip():
        return None
    return credential.strip()


def _address_in(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False  # a unix socket's peer, say: not an address anyone allowed
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes:
    for key, value in headers:
        if key == name:
            return value
    return b""


async def _send_text(send: Any, status: int, body: bytes, extra: list[tuple[bytes, bytes]]) -> None:
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
