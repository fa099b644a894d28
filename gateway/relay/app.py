"""The /v1 relay as a plain ASGI app: authenticate, route, forward, stream back."""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from django.conf import settings
from django.db import DatabaseError

from core.errors import error_body
from core.http_clients import close_clients
from gateway.relay.auth import TokenRecord, bearer_key
from gateway.relay.bodies import BodyError, parse_body
from gateway.relay.cache import RedisVersionReader, RelayCache
from gateway.relay.hops import incoming_hops
from gateway.relay.paths import InvalidPath, RelayPath, check_query, relay_path
from gateway.relay.proxy import Forward, Limits, Send, UpstreamFailed, forward
from gateway.relay.recheck import RefusalRechecks
from gateway.relay.routing import iter_attempts
from gateway.relay.slots import ChannelSlots

log = logging.getLogger(__name__)

_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Model ids are listed with this creation time: the gateway has no better one to give.
MODELS_CREATED = 1700000000


class RelayError(Exception):
    def __init__(self, status: int, message: str, *, code: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.param = param


class ClientGone(Exception):
    """The client hung up before its request body arrived."""


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
    ) -> None:
        self.cache = cache or RelayCache(
            refresh_seconds=settings.RELAY_REFRESH_SECONDS,
            read_version=RedisVersionReader(settings.REDIS_URL) if settings.REDIS_URL else None,
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
        )

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request_id = _request_id(scope["headers"])
        responded = False

        async def tracked_send(message: dict[str, Any]) -> None:
            nonlocal responded
            responded = True
            await send(message)

        try:
            await self._handle(scope, receive, tracked_send, request_id)
        except RelayError as exc:
            await _send_error(send, exc.status, exc.code, str(exc), request_id, exc.param)
        except ClientGone:
            log.info("client went away while sending its request (request %s)", request_id)
        except DatabaseError:
            log.exception("relay could not read the database (request %s)", request_id)
            if not responded:
                await _send_error(
                    send,
                    503,
                    "gateway_unavailable",
                    "The gateway cannot reach its database; try again shortly.",
                    request_id,
                )
        except Exception:
            log.exception("relay failed (request %s)", request_id)
            if not responded:
                await _send_error(
                    send, 500, "internal_error", "The gateway failed; see its log.", request_id
                )

    async def _handle(
        self, scope: dict[str, Any], receive: Any, send: Any, request_id: str
    ) -> None:
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        # Checked before anything else: neither needs the database.
        path = _checked_path(scope)
        hops = incoming_hops(headers)
        if hops >= self.max_hops:
            raise RelayError(
                508,
                f"This request has passed through {hops} gateways already; a channel probably "
                "leads back to a gateway (a loop).",
                code="loop_detected",
            )
        await self.cache.ensure_fresh()
        token = await self._authenticate(scope, headers)
        method = scope["method"]

        if path.is_models:
            if method != "GET":
                raise RelayError(405, f"{method} is not allowed here.", code="method_not_allowed")
            await self._models(token, path, send, request_id)
            return
        if method != "POST" or path.upstream is None:
            raise RelayError(404, f"Invalid URL ({method} /v1{path.text}).", code="unknown_url")

        body = await _read_body(receive, settings.MAX_REQUEST_BYTES)
        try:
            parsed = parse_body(_header(headers, b"content-type"), body)
        except BodyError as exc:
            raise RelayError(400, str(exc), code=exc.code, param=exc.param) from None
        if not parsed.model:
            raise RelayError(
                400, "You must provide a model parameter.", code="missing_model", param="model"
            )
        model = parsed.model
        if not token.may_use(model):
            raise RelayError(
                403,
                f"This token may not use the model `{model}`.",
                code="model_not_allowed",
                param="model",
            )
        tiers = self.cache.table.candidates(token.group, model)
        if not tiers:
            if (token.group, model) in self.cache.table.unavailable:
                raise RelayError(
                    503,
                    f"No channel for `{model}` in group `{token.group}` is available right now.",
                    code="no_available_channel",
                )
            raise RelayError(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                code="model_not_found",
                param="model",
            )
        routes = iter_attempts(tiers, self.rng)
        self.cache.note_used(token.id)
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
        )
        await _until_disconnect(
            lambda send: forward(request, routes, send, self.limits), send, receive, request_id
        )

    async def _authenticate(
        self, scope: dict[str, Any], headers: list[tuple[bytes, bytes]]
    ) -> TokenRecord:
        key = bearer_key(headers)
        if key is None:
            raise RelayError(
                401,
                "Missing API key: send it as `Authorization: Bearer <token>`.",
                code="invalid_api_key",
            )
        token = await self.cache.token(key)
        if token is None:
            raise RelayError(401, "Invalid API key.", code="invalid_api_key")
        if not token.enabled:
            raise RelayError(401, "This API key is disabled.", code="token_disabled")
        if token.expires_at is not None and token.expires_at <= time.time():
            raise RelayError(401, "This API key has expired.", code="token_expired")
        # The server has already replaced the peer by X-Forwarded-For's client when the peer is
        # a proxy named in TOLLGATE_TRUSTED_PROXIES (none by default), and only then.
        client = scope.get("client")
        if not token.admits(client[0] if client else None):
            raise RelayError(
                403, "This API key may not be used from your address.", code="ip_not_allowed"
            )
        return token

    async def _models(
        self, token: TokenRecord, path: RelayPath, send: Any, request_id: str
    ) -> None:
        names = [
            name
            for name in self.cache.table.models_by_group.get(token.group, ())
            if token.may_use(name)
        ]
        self.cache.note_used(token.id)
        if len(path.segments) > 1:
            # A model id may hold slashes (`org/model`), sent plain or as %2F.
            wanted = "/".join(path.segments[1:])
            if wanted not in names:
                raise RelayError(
                    404,
                    f"The model `{wanted}` does not exist or you do not have access to it.",
                    code="model_not_found",
                    param="model",
                )
            await _send_json(send, 200, _model_entry(wanted), request_id)
            return
        listing = {"object": "list", "data": [_model_entry(name) for name in names]}
        await _send_json(send, 200, listing, request_id)

    async def health(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """200 when the relay can read its channels (so the database answers), else 503."""
        try:
            await self.cache.check_now()
        except Exception:
            log.exception("health check failed")
            await _send_json(send, 503, {"status": "unavailable"}, _request_id(scope["headers"]))
            return
        await _send_json(send, 200, {"status": "ok"}, _request_id(scope["headers"]))

    async def lifespan(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.cache.ensure_fresh()
                except Exception:
                    # Not fatal: the first request tries again and reports the problem.
                    log.exception("could not load channels at startup")
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await self.rechecks.aclose()
                    await self.cache.aclose()
                    await close_clients()
                finally:
                    await send({"type": "lifespan.shutdown.complete"})
                return


async def _until_disconnect(
    work: Callable[[Send], Awaitable[None]], send: Send, receive: Any, request_id: str
) -> None:
    """Run the forwarding; if the client goes away first, cancel it (and the upstream call)."""
    finished = False

    async def send_and_note_end(message: dict[str, Any]) -> None:
        nonlocal finished
        # The server reports "disconnect" once the last body part is out; that is no abort.
        if message["type"] == "http.response.body" and not message.get("more_body"):
            finished = True
        await send(message)

    task = asyncio.ensure_future(work(send_and_note_end))
    watcher = asyncio.ensure_future(_disconnected(receive))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done() and not finished:
            task.cancel()
            log.info("client went away; upstream request cancelled (request %s)", request_id)
        await asyncio.wait({task})
    finally:
        watcher.cancel()
        if not task.done():
            task.cancel()
    if task.cancelled():
        return
    exception = task.exception()
    if isinstance(exception, UpstreamFailed):
        raise RelayError(exception.status, str(exception), code=exception.code)
    if exception is not None:
        raise exception


async def _disconnected(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _read_body(receive: Any, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RelayError(
                413, f"The request body is larger than {limit} bytes.", code="request_too_large"
            )
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _checked_path(scope: dict[str, Any]) -> RelayPath:
    try:
        path = relay_path(scope.get("raw_path"), scope["path"])
        check_query(scope.get("query_string", b""))
    except InvalidPath as exc:
        raise RelayError(400, str(exc), code="invalid_path") from None
    return path


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes:
    for key, value in headers:
        if key == name:
            return value
    return b""


def _request_id(headers: list[tuple[bytes, bytes]]) -> str:
    given = _header(headers, b"x-request-id").decode("latin-1")
    return given if _SAFE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def _model_entry(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": MODELS_CREATED, "owned_by": "tollgate"}


async def _send_json(send: Any, status: int, payload: Any, request_id: str) -> None:
    await _send_body(send, status, orjson.dumps(payload), request_id)


async def _send_error(
    send: Any, status: int, code: str, message: str, request_id: str, param: str | None = None
) -> None:
    await _send_body(send, status, error_body(status, message, code=code, param=param), request_id)


async def _send_body(send: Any, status: int, body: bytes, request_id: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", request_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
