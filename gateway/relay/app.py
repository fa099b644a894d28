"""The /v1 relay as a plain ASGI app: authenticate, route, forward, stream back.

A request's way through: the path and loop checks (paths.py, hops.py), the token check
(token_check.py), the channels that serve the model (routing.py, from the table cache.py keeps
current), then forward.py tries them in turn and answers (stream_relay.py for streams).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import re
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError

from core.errors import ApiError
from core.http_clients import close_clients, get_relay_transport
from core.secrets_check import secrets_problems
from gateway import metrics
from gateway.log_format import bind_request_id, reset_request_id
from gateway.metric_values import flush as flush_metric_values
from gateway.relay.background import BackgroundTasks
from gateway.relay.billing import Billing
from gateway.relay.bodies import parse_body
from gateway.relay.cache import RelayCache
from gateway.relay.client_side import ClientGone, read_body, until_disconnect
from gateway.relay.collector import FullCollections
from gateway.relay.conf import setting
from gateway.relay.db import close_background_connections, db_call
from gateway.relay.dialects import MESSAGES_PATHS
from gateway.relay.forward import Limits, forward
from gateway.relay.health import ChannelHealth
from gateway.relay.hops import incoming_hops
from gateway.relay.keys import KeyPicker
from gateway.relay.metering import CLIENT_CLOSED, Meter
from gateway.relay.paths import RelayPath, check_query, relay_path
from gateway.relay.rate_limits import RateLimits
from gateway.relay.recheck import RefusalRechecks
from gateway.relay.recording import usage_writer
from gateway.relay.request import Forward
from gateway.relay.responses import Send, send_anthropic_error, send_error, send_json
from gateway.relay.routing import iter_attempts
from gateway.relay.slots import ChannelSlots
from gateway.relay.stream_usage import STREAM_USAGE_PATHS, ask_for_usage, asks_for_usage
from gateway.relay.token_check import TokenRecord, bearer_key
from gateway.relay.version import RedisVersionReader
from usage.entries import UsageEntry
from usage.retention import run_retention
from usage.writer import UsageWriter

log = logging.getLogger(__name__)

# Where errors take Anthropic's shape: the paths of its Messages API (dialects.py).
ANTHROPIC_ERROR_PATHS = frozenset("/v1" + path for path in MESSAGES_PATHS)
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Model ids are listed with this creation time: the gateway has no better one to give.
MODELS_CREATED = 1700000000


@dataclass(slots=True)
class _Exchange:
    """What one request's usage record needs to know of its answer, noted as it goes."""

    meter: Meter | None = None  # set once the token is accepted: only then is it recorded
    status: int = 0  # the HTTP status sent, 0 until the head went out
    error: str = ""
    client_left: bool = False
    model: str = ""  # the model once the routing table knows it (a bounded metrics label)
    first_byte: float | None = None  # loop time the response head went out
    finished: bool = False  # the answer's last body part went out


class RelayApp:
    def __init__(
        self,
        *,
        cache: RelayCache | None = None,
        rng: random.Random | None = None,
        retries: int | None = None,
        max_hops: int | None = None,
        channel_max_connections: int | None = None,
        rechecks: RefusalRechecks | None = None,
        channel_health: ChannelHealth | None = None,
        prober: bool | None = None,
        retention: bool | None = None,
        rate_limits: RateLimits | None = None,
        usage: UsageWriter | None = None,
        billing: Billing | None = None,
    ) -> None:
        # Usage records and token last-used times, written in batches off the request path.
        self.usage = usage or usage_writer()
        self.ask_stream_usage: bool = settings.USAGE_ASK_STREAM_USAGE
        # Prices and the quota/budget reservation made before a request goes upstream.
        self.billing = billing or Billing(
            reserve_completion_tokens=settings.QUOTA_RESERVE_COMPLETION_TOKENS
        )
        # Per-token RPM/TPM limits, shared through Redis when REDIS_URL is set.
        self.rate_limits = rate_limits or RateLimits(settings.REDIS_URL)
        self.cache = cache or RelayCache(
            refresh_seconds=settings.RELAY_REFRESH_SECONDS,
            read_version=RedisVersionReader(settings.REDIS_URL) if settings.REDIS_URL else None,
            miss_recheck_seconds=settings.RELAY_MISS_RECHECK_SECONDS,
        )
        # The recovery prober runs inside the server (one at a time across processes: it
        # takes a lock), started and stopped with it.
        self.prober = getattr(settings, "PROBER", True) if prober is None else prober
        self.background = BackgroundTasks()
        # Full garbage collections when few streams are open (collector.py).
        self.collector = (
            FullCollections(metrics.open_streams_here) if settings.RELAY_MANAGE_GC else None
        )
        # Usage-record retention (usage/retention.py) runs inside the server too.
        self.retention = settings.USAGE_RETENTION_DAYS > 0 if retention is None else retention
        self.channel_health = channel_health or ChannelHealth(
            enabled=settings.RELAY_AUTO_DISABLE, breaker_failures=settings.BREAKER_FAILURES
        )
        self.rng = rng or random.Random()
        self.retries = settings.RELAY_RETRIES if retries is None else retries
        self.max_hops = settings.RELAY_MAX_HOPS if max_hops is None else max_hops
        self.rechecks = rechecks or RefusalRechecks(
            enabled=settings.RELAY_AUTO_DISABLE, interval=settings.RELAY_RECHECK_SECONDS
        )
        self.limits = Limits(
            attempts=self.retries + 1,
            slots=ChannelSlots(
                settings.RELAY_CHANNEL_MAX_CONNECTIONS
                if channel_max_connections is None
                else channel_max_connections
            ),
            rechecks=self.rechecks,
            health=self.channel_health,
            fatal_patterns=tuple(settings.FATAL_ERROR_PATTERNS),
            cooldown_seconds=settings.COOLDOWN_SECONDS,
            keys=KeyPicker(self.rng, suspect_seconds=settings.RELAY_RECHECK_SECONDS),
        )

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request_id = _request_id(scope["headers"])
        # Every line logged while answering (and in tasks started for it) carries the id.
        bound = bind_request_id(request_id)
        exchange = _Exchange()
        loop = asyncio.get_running_loop()
        started = loop.time()

        # A plain function handing back the server's awaitable, not a coroutine of its own:
        # one coroutine fewer for every message (a stream sends one per event).
        def tracked_send(message: dict[str, Any]) -> Awaitable[None]:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                exchange.first_byte = loop.time()
                if exchange.meter is not None:
                    exchange.meter.first_byte = exchange.first_byte
            elif not message.get("more_body"):
                exchange.finished = True
            return send(message)  # type: ignore[no-any-return]

        try:
            exchange.client_left = await self._handle(
                scope, receive, tracked_send, request_id, exchange
            )
        except ApiError as exc:
            exchange.error = exc.message
            await self._send_error(scope, tracked_send, exc, request_id)
        except ClientGone:
            exchange.client_left = True
            log.info("client went away while sending its request (request %s)", request_id)
        except DatabaseError:
            log.exception("relay could not read the database (request %s)", request_id)
            if not exchange.status:
                unavailable = ApiError(
                    503,
                    "The gateway cannot reach its database; try again shortly.",
                    code="gateway_unavailable",
                )
                exchange.error = unavailable.message
                await self._send_error(scope, tracked_send, unavailable, request_id)
        except Exception:
            log.exception("relay failed (request %s)", request_id)
            if not exchange.status:
                failed = ApiError(500, "The gateway failed; see its log.", code="internal_error")
                exchange.error = failed.message
                await self._send_error(scope, tracked_send, failed, request_id)
        finally:
            now = loop.time()
            if exchange.meter is not None:
                self._record(exchange, now)
            metrics.observe_request(
                scope["path"],
                exchange.model,
                CLIENT_CLOSED if exchange.client_left else exchange.status,
                exchange.meter.entry.group if exchange.meter is not None else "",
                now - started,
                None if exchange.first_byte is None else exchange.first_byte - started,
            )
            reset_request_id(bound)

    @staticmethod
    async def _send_error(
        scope: dict[str, Any], send: Send, error: ApiError, request_id: str
    ) -> None:
        """In OpenAI's shape, or Anthropic's for the Messages API's paths."""
        if scope.get("path") in ANTHROPIC_ERROR_PATHS:
            await send_anthropic_error(send, error, request_id)
        else:
            await send_error(send, error, request_id)

    def _record(self, exchange: _Exchange, now: float) -> None:
        """The request's usage record, handed to the writer (never raises into the relay)."""
        meter = exchange.meter
        assert meter is not None
        try:
            status = CLIENT_CLOSED if exchange.client_left else exchange.status
            error = exchange.error or meter.entry.error
            if exchange.client_left and not error:
                error = "The client went away before the answer ended."
            entry = meter.finish(status, error, now)
        except Exception:
            log.exception("could not record the usage of request %s", meter.entry.request_id)
            # The record is lost, but its reservation must not stay held.
            meter.entry.cost = 0
            self.usage.keep_settlement(meter.entry)
            return
        self.usage.add(entry)
        metrics.set_usage_buffer(self.usage.pending)
        if entry.token_id is not None and entry.total_tokens:
            self.rate_limits.note_tokens(entry.token_id, entry.total_tokens)

    async def _handle(
        self,
        scope: dict[str, Any],
        receive: Any,
        send: Any,
        request_id: str,
        exchange: _Exchange,
    ) -> bool:
        """Answers the request; True when the client went away before the answer ended."""
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        # Checked before anything else: neither needs the database.
        path = _checked_path(scope)
        hops = incoming_hops(headers)
        if hops >= self.max_hops:
            raise ApiError(
                508,
                f"This request has passed through {hops} gateways already; a channel probably "
                "leads back to a gateway (a loop).",
                code="loop_detected",
            )
        await self.cache.ensure_fresh()
        # The server has already replaced the peer by X-Forwarded-For's client when the peer is
        # a proxy named in TOLLGATE_TRUSTED_PROXIES (none by default), and only then.
        client = scope.get("client")
        client_ip = client[0] if client else None
        token = await self._authenticate(bearer_key(headers), client_ip)
        meter = exchange.meter = Meter(
            UsageEntry(
                created_at=dt.datetime.now(dt.UTC),  # timezone.now(), as USE_TZ is on
                request_id=request_id,
                token_id=token.id,
                client_ip=client_ip,
                endpoint="/v1" + path.text,
                group=token.group,
            ),
            started=asyncio.get_running_loop().time(),
        )
        self.usage.note_used(token.id)
        method = scope["method"]

        if path.is_models:
            if method != "GET":
                raise ApiError(405, f"{method} is not allowed here.", code="method_not_allowed")
            await self._models(token, path, send, request_id)
            return False
        if method != "POST" or path.upstream is None:
            raise ApiError(404, f"Invalid URL ({method} /v1{path.text}).", code="unknown_url")

        body = await read_body(receive, setting("MAX_REQUEST_BYTES"))
        parsed = parse_body(_header(headers, b"content-type"), body)
        meter.payload = parsed.payload
        if parsed.model:
            meter.entry.requested_model = parsed.model
        if parsed.payload is not None and parsed.payload.get("stream") is True:
            meter.entry.stream = True
            if (
                self.ask_stream_usage
                and path.upstream in STREAM_USAGE_PATHS
                and not asks_for_usage(parsed)
            ):
                body = ask_for_usage(body, parsed)
                meter.ask_stream_usage = True
        if not parsed.model:
            raise ApiError(
                400, "You must provide a model parameter.", code="missing_model", param="model"
            )
        model = parsed.model
        if not token.may_use(model):
            raise ApiError(
                403,
                f"This token may not use the model `{model}`.",
                code="model_not_allowed",
                param="model",
            )
        tiers = self.cache.table.candidates(token.group, model)
        if not tiers:
            # A channel created (or enabled) a moment ago, maybe by another process. Looked
            # up again whatever the recheck says: the table may have moved before it began.
            await self.cache.recheck_after_miss()
            tiers = self.cache.table.candidates(token.group, model)
        if not tiers:
            if (token.group, model) in self.cache.table.unavailable:
                raise ApiError(
                    503,
                    f"No channel for `{model}` in group `{token.group}` is available right now.",
                    code="no_available_channel",
                )
            raise ApiError(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                code="model_not_found",
                param="model",
            )
        exchange.model = model  # served by a channel: a configured name
        admission = await self.rate_limits.admit(token)
        if not admission.allowed:
            metrics.rate_limited(admission.limit)
            raise admission.error()
        await self.billing.admit(token, model, path.upstream, meter, self.cache.prices)
        routes = iter_attempts(tiers, self.rng)
        request = Forward(
            method=method,
            path=path.upstream,
            query=scope.get("query_string", b""),
            headers=headers,
            body=body,
            parsed=parsed,
            model=model,
            request_id=request_id,
            hops=hops,
            meter=meter,
        )
        # Only `request` holds the decoded body from here, so a stream can let it go.
        del parsed
        return await until_disconnect(
            forward(request, routes, send, self.limits), exchange, scope, receive, request_id
        )

    async def _authenticate(self, key: str | None, client_ip: str | None) -> TokenRecord:
        try:
            return await self.cache.tokens.authenticate(key, client_ip)
        except ApiError as refusal:
            # An unknown key may be a token created a moment ago: look again once.
            if refusal.code != "invalid_api_key" or key is None:
                raise
            # Tried again whatever the recheck says: the table may have moved before it began
            # (an unknown key stays remembered as unknown: no database work).
            await self.cache.recheck_after_miss()
        return await self.cache.tokens.authenticate(key, client_ip)

    async def _models(
        self, token: TokenRecord, path: RelayPath, send: Any, request_id: str
    ) -> None:
        names = [
            name
            for name in self.cache.table.models_by_group.get(token.group, ())
            if token.may_use(name)
        ]
        if len(path.segments) > 1:
            # A model id may hold slashes (`org/model`), sent plain or as %2F.
            wanted = "/".join(path.segments[1:])
            if wanted not in names:
                raise ApiError(
                    404,
                    f"The model `{wanted}` does not exist or you do not have access to it.",
                    code="model_not_found",
                    param="model",
                )
            await send_json(send, 200, _model_entry(wanted), request_id)
            return
        listing = {"object": "list", "data": [_model_entry(name) for name in names]}
        await send_json(send, 200, listing, request_id)

    async def health(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """200 when the relay can read its channels (so the database answers), else 503."""
        try:
            await self.cache.check_now()
        except Exception:
            log.exception("health check failed")
            await send_json(send, 503, {"status": "unavailable"}, _request_id(scope["headers"]))
            return
        await send_json(send, 200, {"status": "ok"}, _request_id(scope["headers"]))

    async def lifespan(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                problems = await self._secrets_problems()
                if problems:
                    await send({"type": "lifespan.startup.failed", "message": " ".join(problems)})
                    return
                try:
                    await self.cache.ensure_fresh()
                except Exception:
                    # Not fatal: the first request tries again and reports the problem.
                    log.exception("could not load channels at startup")
                # The upstream pool before the first request, not in it: its TLS context
                # loads the CA bundle, which held up the loop (and every request on it)
                # for 50-120 ms on the first request after a worker started.
                try:
                    get_relay_transport()
                except Exception:
                    # Not fatal either (a CA bundle that will not load, say): the first
                    # request tries again and reports the problem.
                    log.exception("could not make the upstream connection pool at startup")
                self._start_background()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await self.background.stop_all()
                    await self.usage.aclose()
                    await self.rechecks.aclose()
                    await self.rate_limits.aclose()
                    await self.channel_health.drain()
                    await self.cache.aclose()
                    await close_clients()
                    await asyncio.to_thread(close_background_connections)
                finally:
                    flush_metric_values()  # the last moments' counts, and the gauges
                    await send({"type": "lifespan.shutdown.complete"})
                return

    @staticmethod
    async def _secrets_problems() -> list[str]:
        """Secrets that do not match the database's (core/secrets_check.py), each logged."""
        try:
            problems = await db_call(secrets_problems)
        except Exception:
            # Not fatal here: the database may be starting too; requests report it.
            log.exception("could not check this instance's secrets against the database")
            return []
        for problem in problems:
            log.critical("refusing to start: %s", problem)
        return problems

    def _start_background(self) -> None:
        if self.prober:
            try:
                from channels_admin.prober import run_prober
            except ImportError:
                log.exception("the channel prober cannot start")
            else:
                self.background.start("the channel prober", run_prober)
        if self.retention:
            self.background.start("usage retention", run_retention)
        if self.collector is not None:
            self.background.start("the garbage collector", self.collector.run)


def _checked_path(scope: dict[str, Any]) -> RelayPath:
    path = relay_path(scope.get("raw_path"), scope["path"])
    check_query(scope.get("query_string", b""))
    return path


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes:
    for key, value in headers:
        if key == name:
            return value
    return b""


def _request_id(headers: list[tuple[bytes, bytes]]) -> str:
    given = _header(headers, b"x-request-id").decode("latin-1")
    return given if _SAFE_REQUEST_ID.fullmatch(given) else new_request_id()


def new_request_id() -> str:
    """32 hex digits: the time in milliseconds first, as UUIDv7 has it, then 80 random bits.

    Ordered by time, new ids land at the end of the usage records' request-id index rather
    than on a random page of it (a locality a large table keeps; `make bench`'s fresh
    database showed no difference either way). An id must be unique, not secret: the bits
    come from `random`, which is seeded from the system and again in each forked worker,
    rather than os.urandom, a system call (its line was 1.5 % of the worker's samples, py-spy).
    """
    return f"{time.time_ns() // 1_000_000:012x}{random.getrandbits(80):020x}"


def _model_entry(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": MODELS_CREATED, "owned_by": "tollgate"}
