"""Per-token rate limits in one process (no REDIS_URL): RPM and TPM refusals with OpenAI's
429 and headers, windows that move with an injected clock, nothing sent upstream when
refused, and no Redis work at all for a token without limits."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.relay.rate_limits import RateLimits, format_reset
from gateway.relay.token_check import TokenRecord
from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream
from tests.support.live_gateway import Gateway, serving_gateway

# 54 seconds into a minute: the window starts over in 6 s.
START = 6000 * 60 + 54.0


class Clock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limited_gateway(transactional_db: None, settings: Any, clock: Clock) -> Iterator[Gateway]:
    settings.REDIS_URL = ""
    with serving_gateway(rate_limits=RateLimits("", clock=clock)) as gateway:
        yield gateway


def record(*, rpm: int | None = None, tpm: int | None = None, token_id: int = 7) -> TokenRecord:
    return TokenRecord(
        id=token_id,
        key_hash="",
        group="default",
        enabled=True,
        expires_at=None,
        allowed_models=frozenset(),
        allowed_networks=(),
        rpm_limit=rpm,
        tpm_limit=tpm,
    )


def test_the_request_over_the_rpm_limit_gets_openais_429_and_headers(
    limited_gateway: Gateway, upstream: FakeUpstream, clock: Clock
) -> None:
    make_channel(upstream)
    key = make_token(rpm_limit=2).key

    assert [limited_gateway.post_chat(key).status_code for _ in range(2)] == [200, 200]
    refused = limited_gateway.post_chat(key)

    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "rate_limit_exceeded"
    assert error["type"] == "rate_limit_error"
    assert error["param"] is None
    assert "requests per minute" in error["message"] and "6s" in error["message"]
    assert refused.headers["retry-after"] == "6"
    assert refused.headers["x-ratelimit-limit-requests"] == "2"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert refused.headers["x-ratelimit-reset-requests"] == "6s"
    assert "x-ratelimit-limit-tokens" not in refused.headers
    assert len(upstream.requests) == 2  # the refused request never left the gateway


def test_the_rpm_limit_starts_over_when_the_minute_turns(
    limited_gateway: Gateway, upstream: FakeUpstream, clock: Clock
) -> None:
    make_channel(upstream)
    key = make_token(rpm_limit=1).key
    assert limited_gateway.post_chat(key).status_code == 200
    assert limited_gateway.post_chat(key).status_code == 429

    clock.now += 6  # the next window

    assert limited_gateway.post_chat(key).status_code == 200
    assert limited_gateway.post_chat(key).status_code == 429


def test_the_rpm_limit_is_each_tokens_own(limited_gateway: Gateway, upstream: FakeUpstream) -> None:
    make_channel(upstream)
    first = make_token(rpm_limit=1).key
    second = make_token(name="Team B", rpm_limit=1).key
    unlimited = make_token(name="Team C").key
    assert limited_gateway.post_chat(first).status_code == 200
    assert limited_gateway.post_chat(first).status_code == 429
    assert limited_gateway.post_chat(second).status_code == 200
    assert [limited_gateway.post_chat(unlimited).status_code for _ in range(5)] == [200] * 5


def test_a_request_after_the_tokens_reach_the_tpm_limit_is_refused_until_the_minute_turns(
    limited_gateway: Gateway, upstream: FakeUpstream, clock: Clock
) -> None:
    make_channel(upstream)
    made = make_token(tpm_limit=100)
    assert limited_gateway.post_chat(made.key).status_code == 200

    # What the relay reports once the upstream's usage is known.
    limited_gateway.relay.rate_limits.note_tokens(made.token.pk, 100)
    refused = limited_gateway.post_chat(made.key)

    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert "tokens per minute" in refused.json()["error"]["message"]
    assert refused.headers["retry-after"] == "6"
    assert refused.headers["x-ratelimit-limit-tokens"] == "100"
    assert refused.headers["x-ratelimit-remaining-tokens"] == "0"
    assert refused.headers["x-ratelimit-reset-tokens"] == "6s"
    assert "x-ratelimit-limit-requests" not in refused.headers
    assert len(upstream.requests) == 1

    clock.now += 6
    assert limited_gateway.post_chat(made.key).status_code == 200


def test_the_tokens_an_answer_used_count_against_the_tpm_limit(
    limited_gateway: Gateway, upstream: FakeUpstream
) -> None:
    make_channel(upstream)
    key = make_token(tpm_limit=1).key  # whatever the fake upstream's answer reports
    assert limited_gateway.post_chat(key).status_code == 200
    limited_gateway.requests.wait_finished(1)  # its usage is noted when the request ends

    refused = limited_gateway.post_chat(key)

    assert refused.status_code == 429
    assert refused.headers["x-ratelimit-remaining-tokens"] == "0"
    assert len(upstream.requests) == 1


def test_a_request_is_admitted_while_the_tokens_used_are_below_the_tpm_limit(
    clock: Clock,
) -> None:
    limits = RateLimits("", clock=clock)
    token = record(tpm=100)

    async def scenario() -> list[bool]:
        seen = [(await limits.admit(token)).allowed]
        limits.note_tokens(token.id, 99)
        seen.append((await limits.admit(token)).allowed)  # 99 < 100: admitted
        limits.note_tokens(token.id, 500)  # the request that crossed it still ran
        seen.append((await limits.admit(token)).allowed)
        return seen

    assert asyncio.run(scenario()) == [True, True, False]


def test_both_limits_are_reported_when_both_are_set(clock: Clock) -> None:
    limits = RateLimits("", clock=clock)
    token = record(rpm=3, tpm=1000)

    async def scenario() -> Any:
        for _ in range(3):
            assert (await limits.admit(token)).allowed
        limits.note_tokens(token.id, 250)
        return await limits.admit(token)

    decision = asyncio.run(scenario())
    assert not decision.allowed
    assert decision.headers == {
        "Retry-After": "6",
        "x-ratelimit-limit-requests": "3",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "6s",
        "x-ratelimit-limit-tokens": "1000",
        "x-ratelimit-remaining-tokens": "750",
        "x-ratelimit-reset-tokens": "6s",
    }


def test_concurrent_requests_in_one_process_are_counted_exactly(clock: Clock) -> None:
    limits = RateLimits("", clock=clock)
    token = record(rpm=5)

    async def scenario() -> list[bool]:
        decisions = await asyncio.gather(*(limits.admit(token) for _ in range(50)))
        return [decision.allowed for decision in decisions]

    assert sum(asyncio.run(scenario())) == 5


def test_a_token_without_limits_costs_no_redis_call(clock: Clock) -> None:
    connected: list[str] = []

    def connect(url: str) -> Any:
        connected.append(url)
        raise ConnectionError("Redis must not be asked")

    limits = RateLimits("redis://127.0.0.1:6379/6", clock=clock, connect=connect)

    async def scenario() -> list[bool]:
        free = record(token_id=1)
        allowed = [(await limits.admit(free)).allowed for _ in range(100)]
        limits.note_tokens(free.id, 10_000)
        await limits.drain()
        return allowed

    assert asyncio.run(scenario()) == [True] * 100
    assert connected == []
    # The same limiter does ask Redis for a limited token (so the count above means something).
    asyncio.run(limits.admit(record(token_id=2, rpm=5)))
    assert connected == ["redis://127.0.0.1:6379/6"]


class HeldRedis:
    """A Redis client whose token updates wait until released (admissions answer at once)."""

    def __init__(self) -> None:
        self.release: asyncio.Future[None] | None = None
        self.updates_done = 0

    def register_script(self, script: str) -> Any:
        async def admit(keys: list[str], args: list[int]) -> list[int]:
            return [1, 1, 0]

        return admit

    def pipeline(self, transaction: bool) -> HeldRedis:
        return self

    async def __aenter__(self) -> HeldRedis:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def incrby(self, key: str, amount: int) -> None:
        pass

    def expire(self, key: str, seconds: int) -> None:
        pass

    async def execute(self) -> None:
        self.release = asyncio.get_running_loop().create_future()
        await self.release
        self.updates_done += 1


def test_a_drain_waits_only_for_the_updates_of_its_own_loop(clock: Clock) -> None:
    # Two servers in one process, as tests run them: each drains on its own loop, and an
    # update still in flight on the other's loop must not hold it up (it hung the wait).
    redis = HeldRedis()
    limits = RateLimits("redis://127.0.0.1:6379/6", clock=clock, connect=lambda url: redis)
    other = asyncio.new_event_loop()
    thread = threading.Thread(target=other.run_forever)
    thread.start()

    async def note() -> None:
        await limits.admit(record(token_id=3, tpm=1000))
        limits.note_tokens(3, 100)

    try:
        asyncio.run_coroutine_threadsafe(note(), other).result(timeout=10)
        # One more turn of the other loop: the update it started is now waiting on Redis.
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0), other).result(timeout=10)
        assert redis.release is not None

        asyncio.run(asyncio.wait_for(limits.drain(), timeout=10))

        assert redis.updates_done == 0  # still held on the other loop
        other.call_soon_threadsafe(redis.release.set_result, None)
        asyncio.run_coroutine_threadsafe(limits.drain(), other).result(timeout=10)
    finally:
        other.call_soon_threadsafe(other.stop)
        thread.join(timeout=10)
        other.close()

    assert redis.updates_done == 1  # its own loop's drain did wait for it


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.02, "20ms"),
        (1, "1s"),
        (6, "6s"),
        (5.2, "6s"),
        (59.5, "1m0s"),
        (60, "1m0s"),
        (90, "1m30s"),
    ],
)
def test_resets_are_written_as_openai_writes_them(seconds: float, text: str) -> None:
    assert format_reset(seconds) == text
