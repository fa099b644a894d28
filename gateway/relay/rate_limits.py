"""Per-token rate limits: requests per minute (RPM) and tokens per minute (TPM).

Counted in fixed one-minute windows aligned to the clock (12:00:00 to 12:00:59, ...): one atomic
Redis script call per request, one key per token and window that expires by itself, and the
same window in every process without any coordination. The price of a fixed window is that a
client may spend up to twice its limit across the edge of two windows; a sliding window would
need a sorted set per token (memory and work per request growing with the limit) or a
two-window estimate that is no longer exact. For a gateway's "N per minute" the fixed window is
what OpenAI's own `x-ratelimit-reset-*` headers describe: the moment the count starts over.

Tokens are counted after the fact: the relay reports a request's total tokens with
`note_tokens` once they are known, and a request is admitted while the tokens already used in
the window are below the TPM limit (so the request that crosses it still runs to its end).

With REDIS_URL set the counts live in Redis and bind every process and instance together;
without it (or while Redis cannot be reached) each process counts on its own, exactly.
A token without limits costs one attribute check: no counting, no Redis call.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from core.errors import ApiError
from gateway.relay.token_check import TokenRecord

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60
# Keys outlive their window a little, so a late note_tokens still finds (and expires) its key.
KEY_TTL_SECONDS = 2 * WINDOW_SECONDS
KEY_PREFIX = "tollgate:ratelimit:"
# After Redis fails, it is asked again only after this long: a dead Redis must not add a
# connection timeout to every request.
REDIS_RETRY_SECONDS = 5.0
REDIS_TIMEOUT_SECONDS = 0.5
# Background token notes waiting for Redis; beyond this they are counted in-process only.
MAX_PENDING_NOTES = 1000

# KEYS: the window's request count, its token count. ARGV: RPM limit, TPM limit (0: none), TTL.
# Returns {admitted (1/0), requests counted in the window, tokens used in the window}; a
# refused request is not counted.
_ADMIT_SCRIPT = """
local rpm = tonumber(ARGV[1])
local tpm = tonumber(ARGV[2])
local used = tonumber(redis.call('GET', KEYS[2]) or '0')
local requests = tonumber(redis.call('GET', KEYS[1]) or '0')
if (tpm > 0 and used >= tpm) or (rpm > 0 and requests >= rpm) then
  return {0, requests, used}
end
requests = redis.call('INCR', KEYS[1])
if requests == 1 then
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
end
return {1, requests, used}
"""


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a request may go on; when it may not, the 429 to answer with."""

    allowed: bool
    headers: dict[str, str] = field(default_factory=dict)
    message: str = ""
    limit: Literal["requests", "tokens"] = "requests"  # which one refused it

    def error(self) -> ApiError:
        return ApiError(429, self.message, code="rate_limit_exceeded", headers=self.headers)


ADMITTED = Decision(True)


def format_reset(seconds: float) -> str:
    """A wait as OpenAI's `x-ratelimit-reset-*` headers write it: "6s", "1m0s", "20ms"."""
    if seconds < 1:
        return f"{max(1, math.ceil(seconds * 1000))}ms"
    whole = math.ceil(seconds)
    if whole < 60:
        return f"{whole}s"
    return f"{whole // 60}m{whole % 60}s"


@dataclass(slots=True)
class _Window:
    number: int
    requests: int = 0
    tokens: int = 0


class RateLimits:
    """The relay's one limiter (RelayApp owns it): `admit` before forwarding, `note_tokens`
    after."""

    def __init__(
        self,
        redis_url: str = "",
        *,
        clock: Callable[[], float] = time.time,
        connect: Callable[[str], Any] | None = None,
    ) -> None:
        self.redis_url = redis_url
        self._clock = clock
        # Makes the Redis client of one event loop; a test may count or replace it.
        self._connect = connect or _connect
        # A client belongs to the loop it was made on: one per loop, like the httpx ones.
        self._clients: dict[int, tuple[asyncio.AbstractEventLoop, Any, Any]] = {}
        # Token id -> its current window, counted here (the whole count without Redis, this
        # process's share with it, kept so an outage starts from what this process knows).
        self._windows: dict[int, _Window] = {}
        # Tokens with a TPM limit, as last seen by admit: only theirs are worth counting.
        self._tpm_tokens: set[int] = set()
        self._redis_down_until = 0.0
        self._pending: set[asyncio.Task[None]] = set()

    # --- the hot path -------------------------------------------------------------------

    async def admit(self, token: TokenRecord) -> Decision:
        rpm, tpm = token.rpm_limit, token.tpm_limit
        if not rpm and not tpm:
            return ADMITTED
        if tpm:
            self._tpm_tokens.add(token.id)
        else:
            self._tpm_tokens.discard(token.id)
        now = self._clock()
        number = int(now // WINDOW_SECONDS)
        window = self._window(token.id, number)
        counts = await self._admit_in_redis(token.id, number, rpm or 0, tpm or 0, now)
        if counts is None:
            counts = self._admit_here(window, rpm or 0, tpm or 0)
        elif counts[0]:
            window.requests += 1
        admitted, requests, used = counts
        if admitted:
            return ADMITTED
        return _refusal(rpm, tpm, requests, used, (number + 1) * WINDOW_SECONDS - now)

    def note_tokens(self, token_id: int, total_tokens: int) -> None:
        """Count a finished request's tokens against its token's TPM limit. Never waits:
        the Redis update runs in the background."""
        if token_id not in self._tpm_tokens or total_tokens <= 0:
            return
        number = int(self._clock() // WINDOW_SECONDS)
        self._window(token_id, number).tokens += total_tokens
        if not self.redis_url:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if len(self._pending) >= MAX_PENDING_NOTES:
            log.warning("rate limits: Redis is behind; tokens counted in this process only")
            return
        task = loop.create_task(self._add_tokens_in_redis(token_id, number, total_tokens))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    # --- in-process counting ------------------------------------------------------------

    def _window(self, token_id: int, number: int) -> _Window:
        window = self._windows.get(token_id)
        if window is None or window.number != number:
            window = self._windows[token_id] = _Window(number)
        return window

    @staticmethod
    def _admit_here(window: _Window, rpm: int, tpm: int) -> tuple[int, int, int]:
        if (tpm and window.tokens >= tpm) or (rpm and window.requests >= rpm):
            return 0, window.requests, window.tokens
        window.requests += 1
        return 1, window.requests, window.tokens

    # --- Redis --------------------------------------------------------------------------

    async def _admit_in_redis(
        self, token_id: int, number: int, rpm: int, tpm: int, now: float
    ) -> tuple[int, int, int] | None:
        """(admitted, requests, tokens used) as Redis counts them; None: count in-process."""
        if not self.redis_url or now < self._redis_down_until:
            return None
        try:
            _, script = self._redis()
            result = await script(
                keys=[_key(token_id, number, "requests"), _key(token_id, number, "tokens")],
                args=[rpm, tpm, KEY_TTL_SECONDS],
            )
        except Exception as exc:  # any Redis failure: count here
            self._redis_failed(now, exc)
            return None
        self._redis_answered()
        return int(result[0]), int(result[1]), int(result[2])

    async def _add_tokens_in_redis(self, token_id: int, number: int, total: int) -> None:
        if self._clock() < self._redis_down_until:
            return
        key = _key(token_id, number, "tokens")
        try:
            client, _ = self._redis()
            async with client.pipeline(transaction=True) as pipe:
                pipe.incrby(key, total)
                pipe.expire(key, KEY_TTL_SECONDS)
                await pipe.execute()
        except Exception as exc:  # counted in-process already
            self._redis_failed(self._clock(), exc)
            return
        self._redis_answered()

    def _redis(self) -> tuple[Any, Any]:
        loop = asyncio.get_running_loop()
        entry = self._clients.get(id(loop))
        if entry is None:
            client = self._connect(self.redis_url)
            entry = self._clients[id(loop)] = (loop, client, client.register_script(_ADMIT_SCRIPT))
        return entry[1], entry[2]

    def _redis_failed(self, now: float, exc: BaseException) -> None:
        if not self._redis_down_until:
            log.warning(
                "rate limits: Redis cannot be reached (%s); counting in this process only "
                "(each process allows the full limit) until it answers again",
                type(exc).__name__,
            )
        self._redis_down_until = now + REDIS_RETRY_SECONDS

    def _redis_answered(self) -> None:
        if self._redis_down_until:
            log.warning("rate limits: Redis answers again; limits are shared once more")
            self._redis_down_until = 0.0

    async def drain(self) -> None:
        """Wait for the background Redis updates this loop started so far (shutdown, tests).

        Only this loop's: a task of another loop (another server's, in tests) would tell this
        loop it is done from the wrong thread, and the wait could hang for good.
        """
        loop = asyncio.get_running_loop()
        while own := {task for task in self._pending if task.get_loop() is loop}:
            await asyncio.wait(own)

    async def aclose(self) -> None:
        """Close the Redis client of the running loop (at shutdown)."""
        await self.drain()
        entry = self._clients.pop(id(asyncio.get_running_loop()), None)
        if entry is not None:
            await entry[1].aclose()


def _connect(url: str) -> Any:
    import redis.asyncio as aioredis

    return aioredis.Redis.from_url(
        url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
    )


def _key(token_id: int, number: int, counter: str) -> str:
    return f"{KEY_PREFIX}{token_id}:{number}:{counter}"


def _refusal(rpm: int | None, tpm: int | None, requests: int, used: int, reset: float) -> Decision:
    wait = format_reset(reset)
    headers = {"Retry-After": str(max(1, math.ceil(reset)))}
    if rpm:
        headers["x-ratelimit-limit-requests"] = str(rpm)
        headers["x-ratelimit-remaining-requests"] = str(max(0, rpm - requests))
        headers["x-ratelimit-reset-requests"] = wait
    if tpm:
        headers["x-ratelimit-limit-tokens"] = str(tpm)
        headers["x-ratelimit-remaining-tokens"] = str(max(0, tpm - used))
        headers["x-ratelimit-reset-tokens"] = wait
    limit: Literal["requests", "tokens"] = "requests"
    if tpm and used >= tpm:
        limit = "tokens"
        message = (
            f"Rate limit reached for tokens per minute (TPM): limit {tpm}, used {used}. "
            f"Please try again in {wait}."
        )
    else:
        message = (
            f"Rate limit reached for requests per minute (RPM): limit {rpm}, used {requests}. "
            f"Please try again in {wait}."
        )
    return Decision(False, headers, message, limit)
