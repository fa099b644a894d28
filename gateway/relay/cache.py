"""The relay's in-process view of channels and tokens, refreshed when an admin changes them.

Steady state costs no database work per request: the routing table and token records live in
memory; at most every `refresh_seconds` one process-wide check reads the relay-state version
(Redis or one row), and only a changed version reloads the table and forgets cached tokens.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django.utils import timezone

from channels_admin.models import Channel, ChannelStatus
from core.crypto import decrypt_secret, hashes_match, keyed_hash
from core.state import read_db_version
from gateway.relay.auth import TokenRecord, parse_networks
from gateway.relay.routing import EMPTY_TABLE, ChannelRow, Route, RoutingTable, build_routing_table
from tokens.models import TOKEN_PREFIX_LENGTH, Token, TokenStatus

log = logging.getLogger(__name__)

# A version check may miss a change if Redis drops a publish; this bounds how long.
FULL_RELOAD_SECONDS = 60.0
# Unknown keys are remembered so a flood of bad keys does not become a flood of queries.
NEGATIVE_CACHE_LIMIT = 10_000


def _load_routing_rows() -> tuple[int, list[ChannelRow]]:
    close_old_connections()
    # Version first: a change landing between the two reads only causes one extra reload.
    version = read_db_version()
    rows: list[ChannelRow] = []
    for channel in Channel.objects.all().order_by("id"):
        enabled = channel.status == ChannelStatus.ENABLED
        try:
            api_key = decrypt_secret(channel.key_encrypted) if enabled else ""
        except ValueError:
            log.error("channel %s (%s): key cannot be decrypted; skipped", channel.pk, channel.name)
            continue
        route = Route(
            channel_id=channel.pk,
            name=channel.name,
            base_url=channel.base_url,
            api_key=api_key,
            weight=channel.weight,
            priority=channel.priority,
            model_mapping=dict(channel.model_mapping or {}),
        )
        rows.append(ChannelRow(route, enabled, tuple(channel.groups), tuple(channel.model_names)))
    return version, rows


def _load_token(prefix: str) -> list[TokenRecord]:
    close_old_connections()
    return [
        TokenRecord(
            id=token.pk,
            key_hash=token.key_hash,
            group=token.group,
            enabled=token.status == TokenStatus.ENABLED,
            expires_at=token.expires_at.timestamp() if token.expires_at else None,
            allowed_models=frozenset(token.allowed_models or ()),
            allowed_networks=parse_networks(token.allowed_ips or ()),
        )
        for token in Token.objects.filter(prefix=prefix)
    ]


def _store_last_used(used: dict[int, float]) -> None:
    close_old_connections()
    when = timezone.now()
    Token.objects.filter(pk__in=list(used)).update(last_used_at=when)


def _db_version() -> int:
    close_old_connections()
    return read_db_version()


class RedisVersionReader:
    """Reads the relay version that services publish to Redis after each change."""

    def __init__(self, url: str) -> None:
        self.url = url
        # A client belongs to the event loop it was made on: one per loop, like the httpx one.
        self._clients: dict[int, tuple[asyncio.AbstractEventLoop, Any]] = {}

    async def __call__(self) -> int:
        import redis.asyncio as aioredis

        from core.state import REDIS_VERSION_KEY

        loop = asyncio.get_running_loop()
        entry = self._clients.get(id(loop))
        if entry is None:
            client = aioredis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)
            entry = self._clients[id(loop)] = (loop, client)
        value = await entry[1].get(REDIS_VERSION_KEY)
        return int(value) if value is not None else 0

    async def aclose(self) -> None:
        entry = self._clients.pop(id(asyncio.get_running_loop()), None)
        if entry is not None:
            await entry[1].aclose()


@dataclass
class RelayCache:
    refresh_seconds: float = 0.5
    last_used_flush_seconds: float = 30.0
    # Where the version is read: Redis when configured, else the database.
    read_version: Callable[[], Awaitable[int]] | None = None
    clock: Callable[[], float] = time.monotonic

    table: RoutingTable = EMPTY_TABLE
    _version: int | None = None
    _source_version: int | None = None
    _next_check: float = 0.0
    _next_full_reload: float = 0.0
    _next_flush: float | None = None
    _tokens: dict[str, TokenRecord | None] = field(default_factory=dict)
    _used: dict[int, float] = field(default_factory=dict)
    _lock: asyncio.Lock | None = None
    _background: set[asyncio.Task[None]] = field(default_factory=set)

    async def ensure_fresh(self) -> None:
        now = self.clock()
        if now < self._next_check:
            return
        if self._lock is None:
            self._lock = asyncio.Lock()
        if self._lock.locked() and self._version is not None:
            return  # another request is checking; this one may use the current table
        async with self._lock:
            if self.clock() < self._next_check:
                return
            try:
                await self._check()
            except Exception:
                if self._version is None:
                    raise  # nothing loaded yet: there is no table to serve from
                # Keep relaying on the last good table rather than drop every request while
                # the database is away; try again after the usual interval.
                log.exception("could not refresh channels and tokens; serving the last ones")
                self._next_check = self.clock() + max(self.refresh_seconds, 1.0)

    async def check_now(self) -> None:
        """Read the version (and reload if it moved) now; raises if that fails."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            await self._check()

    async def _check(self) -> None:
        now = self.clock()
        source_version = await self._read_source_version()
        if (
            self._version is None
            or source_version != self._source_version
            or now >= self._next_full_reload
        ):
            version, rows = await sync_to_async(_load_routing_rows)()
            self.table = build_routing_table(rows)
            self._tokens = {}
            self._version = version
            self._next_full_reload = now + FULL_RELOAD_SECONDS
        self._source_version = source_version
        self._next_check = self.clock() + self.refresh_seconds
        if self._next_flush is None:
            self._next_flush = now + self.last_used_flush_seconds
        elif self._used and now >= self._next_flush:
            self._flush_last_used(now)

    async def _read_source_version(self) -> int:
        if self.read_version is not None:
            try:
                return await self.read_version()
            except Exception:
                log.exception("could not read the relay version from Redis; using the database")
        return await sync_to_async(_db_version)()

    async def token(self, key: str) -> TokenRecord | None:
        """The token for a presented key, from memory or (once per key per change) the DB."""
        if not key.startswith("sk-") or len(key) < TOKEN_PREFIX_LENGTH:
            return None
        presented = keyed_hash(key)
        if presented in self._tokens:
            return self._tokens[presented]
        found = None
        for record in await sync_to_async(_load_token)(key[:TOKEN_PREFIX_LENGTH]):
            if hashes_match(record.key_hash, presented):
                found = record
        if found is None and len(self._tokens) >= NEGATIVE_CACHE_LIMIT:
            self._tokens = {}
        self._tokens[presented] = found
        return found

    def note_used(self, token_id: int) -> None:
        self._used[token_id] = time.time()

    def _flush_last_used(self, now: float) -> None:
        used, self._used = self._used, {}
        self._next_flush = now + self.last_used_flush_seconds
        task = asyncio.ensure_future(self._store_last_used(used))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _store_last_used(self, used: dict[int, float]) -> None:
        try:
            await sync_to_async(_store_last_used)(used)
        except Exception:
            log.exception("could not record when %d tokens were last used", len(used))

    async def aclose(self) -> None:
        await self.flush()
        if isinstance(self.read_version, RedisVersionReader):
            await self.read_version.aclose()

    async def flush(self) -> None:
        """Write pending last-used times now (at shutdown, and in tests)."""
        if self._used:
            used, self._used = self._used, {}
            await self._store_last_used(used)
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
