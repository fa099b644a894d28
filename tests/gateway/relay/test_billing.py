"""Prices and quotas at the relay: what a request costs, what it may hold, who is refused."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from django.db import close_old_connections

from core.state import bump_relay_version
from gateway.relay.recording import usage_writer
from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream, running_upstream
from tests.support.live_gateway import Gateway, serving_gateway
from tests.support.usage_records import FAST, wait_for_records
from tokens.models import Token
from usage.counting import estimate_text_tokens
from usage.models import GroupMultiplier, ModelPrice

DOLLAR = 10**9
MESSAGES = [{"role": "user", "content": "Say hello"}]


@pytest.fixture
def metered(transactional_db: None) -> Iterator[Gateway]:
    with serving_gateway(usage=usage_writer(**FAST)) as gateway:
        yield gateway


def price(model: str = "gpt-4o-mini", **parts: int) -> None:
    ModelPrice.objects.create(model=model, **parts)
    bump_relay_version()


def token_with(**limits: Any) -> tuple[int, str]:
    new = make_token()
    Token.objects.filter(pk=new.token.pk).update(**limits)
    bump_relay_version()
    return new.token.pk, new.key


def balance(token_id: int) -> tuple[int, int]:
    """(used, reserved) of the token's quota, as the database has them now."""
    close_old_connections()
    token = Token.objects.get(pk=token_id)
    return token.quota_used, token.quota_reserved


def settled(token_id: int, used: int) -> None:
    """Wait for the writer to settle the token to `used` with nothing held (bounded)."""
    wait_for_records(1, token_id=token_id)
    for _ in range(500):
        if balance(token_id) == (used, 0):
            return
        threading.Event().wait(0.02)
    assert balance(token_id) == (used, 0)


def test_a_priced_answer_is_billed_from_its_usage(metered: Gateway, upstream: FakeUpstream) -> None:
    make_channel(upstream, model_mapping={"gpt-4o-mini": "gpt-4o-mini-2024"})
    # Priced by the name the client asked for, not the upstream's.
    price(input_per_million=DOLLAR, output_per_million=2 * DOLLAR)
    token_id, key = token_with()

    assert metered.post_chat(key).status_code == 200

    [record] = wait_for_records(1)
    assert (record.prompt_tokens, record.completion_tokens) == (5, 3)
    assert (record.unpriced, record.cost) == (False, 5 * 1000 + 3 * 2000)
    settled(token_id, 11_000)


def test_the_groups_multiplier_applies(metered: Gateway, upstream: FakeUpstream) -> None:
    make_channel(upstream, groups=["vip"])
    GroupMultiplier.objects.create(name="vip", price_multiplier=Decimal("2.5"))
    price(per_request=DOLLAR)
    _, key = token_with(group="vip")

    assert metered.post_chat(key).status_code == 200

    assert wait_for_records(1)[0].cost == 2_500_000_000


def test_an_unpriced_model_is_free_for_a_token_without_limits(
    metered: Gateway, upstream: FakeUpstream
) -> None:
    make_channel(upstream)
    _, key = token_with()

    assert metered.post_chat(key).status_code == 200

    [record] = wait_for_records(1)
    assert (record.unpriced, record.cost) == (True, 0)


def test_an_unpriced_model_is_refused_to_a_token_with_a_quota(
    metered: Gateway, upstream: FakeUpstream
) -> None:
    make_channel(upstream)
    _, key = token_with(daily_budget=DOLLAR)

    response = metered.post_chat(key)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "model_not_priced"
    assert response.json()["error"]["param"] == "model"
    assert upstream.requests == []
    [record] = wait_for_records(1)
    assert (record.status, record.cost) == (403, 0)


def test_a_token_out_of_quota_is_refused_before_the_upstream(
    metered: Gateway, upstream: FakeUpstream
) -> None:
    make_channel(upstream)
    price(per_request=DOLLAR)
    token_id, key = token_with(quota_limit=DOLLAR, quota_used=DOLLAR // 2)

    response = metered.post_chat(key)

    assert response.status_code == 429
    error = response.json()["error"]
    assert (error["code"], error["type"]) == ("insufficient_quota", "insufficient_quota")
    assert "quota is used up" in error["message"]
    assert upstream.requests == []
    [record] = wait_for_records(1)
    assert (record.status, record.cost) == (429, 0)
    assert balance(token_id) == (DOLLAR // 2, 0)


def test_the_daily_budget_refusal_says_so(metered: Gateway, upstream: FakeUpstream) -> None:
    make_channel(upstream)
    price(per_request=DOLLAR)
    _, key = token_with(daily_budget=3 * DOLLAR)

    answers = [metered.post_chat(key).status_code for _ in range(4)]

    assert answers == [200, 200, 200, 429]
    assert "daily budget" in metered.post_chat(key).json()["error"]["message"]


def test_the_completion_is_reserved_from_max_tokens(
    metered: Gateway, upstream: FakeUpstream
) -> None:
    make_channel(upstream)
    price(output_per_million=DOLLAR)
    # Room for 1,000 completion tokens at most.
    _, key = token_with(quota_limit=DOLLAR // 1000)

    assert metered.post_chat(key, max_tokens=5000).status_code == 429
    assert metered.post_chat(key, max_completion_tokens=900).status_code == 200


def test_a_failed_request_is_not_billed_and_its_hold_released(metered: Gateway) -> None:
    with running_upstream(fail_with=(500, {"error": {"message": "boom"}})) as failing:
        make_channel(failing)
        price(failing.models[0], per_request=DOLLAR)
        token_id, key = token_with(quota_limit=DOLLAR)

        assert metered.post_chat(key).status_code == 502

    [record] = wait_for_records(1)
    assert (record.status, record.cost) == (502, 0)
    settled(token_id, 0)


def test_a_failover_is_billed_once(metered: Gateway, upstream: FakeUpstream) -> None:
    with running_upstream(fail_with=(500, {"error": {"message": "boom"}})) as failing:
        make_channel(failing, name="first", priority=10)
        make_channel(upstream, name="second", priority=0)
        price(per_request=DOLLAR)
        token_id, key = token_with(quota_limit=5 * DOLLAR)

        assert metered.post_chat(key).status_code == 200

    [record] = wait_for_records(1)
    assert [attempt["status"] for attempt in record.attempts] == [500, 200]
    assert record.cost == DOLLAR
    settled(token_id, DOLLAR)


def test_a_stream_the_client_left_is_billed_by_estimate(metered: Gateway) -> None:
    held = threading.Event()
    with running_upstream(hold_stream=held, stream_chunks=3) as slow:
        make_channel(slow)
        price(input_per_million=DOLLAR, output_per_million=DOLLAR)
        token_id, key = token_with(quota_limit=DOLLAR)

        with metered.stream_chat(key, messages=MESSAGES) as response:
            next(line for line in response.iter_lines() if line.startswith("data:"))
        assert slow.client_disconnected.wait(10)

    [record] = wait_for_records(1)
    assert (record.status, record.estimated) == (499, True)
    assert record.completion_tokens == estimate_text_tokens("part0 ")
    assert record.cost == (record.prompt_tokens + record.completion_tokens) * 1000
    settled(token_id, record.cost)


def test_a_stream_is_billed_from_the_usage_chunk_it_hid(
    metered: Gateway, upstream: FakeUpstream
) -> None:
    make_channel(upstream)
    price(input_per_million=DOLLAR, output_per_million=2 * DOLLAR)
    token_id, key = token_with(quota_limit=DOLLAR)

    with metered.stream_chat(key, messages=MESSAGES) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data:")]

    assert not any('"usage"' in line and '"prompt_tokens"' in line for line in lines)
    [record] = wait_for_records(1)
    assert (record.stream, record.estimated, record.cost) == (True, False, 11_000)
    settled(token_id, 11_000)


def test_counting_tokens_is_never_billed(metered: Gateway, upstream: FakeUpstream) -> None:
    make_channel(upstream)
    price(per_request=DOLLAR)
    token_id, key = token_with(quota_limit=DOLLAR // 2)  # not even room for one request

    response = httpx.post(
        metered.url + "/v1/messages/count_tokens",
        headers={"x-api-key": key},
        json={"model": "gpt-4o-mini", "messages": MESSAGES},
    )

    assert response.status_code == 200
    assert response.json()["input_tokens"] > 0
    [record] = wait_for_records(1)
    assert (record.status, record.cost, record.unpriced) == (200, 0, False)
    assert balance(token_id) == (0, 0)
