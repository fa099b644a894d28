"""One usage record per request the relay answers once the token is accepted."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gateway.relay.recording import usage_writer
from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream, running_upstream
from tests.support.live_gateway import Gateway, serving_gateway
from tests.support.usage_records import FAST, wait_for_records
from usage.models import UsageRecord


@pytest.fixture
def metered(transactional_db: None) -> Iterator[Gateway]:
    """The gateway, its usage written every 50 ms."""
    with serving_gateway(usage=usage_writer(**FAST)) as gateway:
        yield gateway


def test_a_success_is_recorded_with_the_upstreams_usage(
    metered: Gateway, upstream: FakeUpstream
) -> None:
    channel = make_channel(upstream, model_mapping={"gpt-4o-mini": "gpt-4o-mini-2024"})
    token = make_token()

    response = metered.post_chat(token.key, headers={"X-Request-Id": "req-success-1"})

    assert response.status_code == 200
    [record] = wait_for_records(1)
    assert record.request_id == "req-success-1"
    assert record.token_id == token.token.pk
    assert record.client_ip == "127.0.0.1"
    assert record.endpoint == "/v1/chat/completions"
    assert (record.requested_model, record.upstream_model) == ("gpt-4o-mini", "gpt-4o-mini-2024")
    assert record.channel_id == channel.pk
    assert (record.status, record.error, record.stream) == (200, "", False)
    assert (record.prompt_tokens, record.completion_tokens, record.total_tokens) == (5, 3, 8)
    assert (record.estimated, record.unpriced, record.cost) == (False, True, 0)
    [attempt] = record.attempts
    assert (attempt["channel_id"], attempt["status"], attempt["error"]) == (channel.pk, 200, None)
    assert record.latency_ms >= attempt["latency_ms"] >= 0
    assert record.first_byte_ms is not None and record.first_byte_ms <= record.latency_ms


def test_an_upstream_error_is_recorded_with_its_sanitised_message(metered: Gateway) -> None:
    error = {"message": "the server had an error", "type": "server_error", "code": None}
    with running_upstream(fail_with=(500, {"error": error})) as failing:
        channel = make_channel(failing)
        key = make_token().key

        response = metered.post_chat(key)

    assert response.status_code == 502
    [record] = wait_for_records(1)
    assert record.status == 502
    assert "the server had an error" in record.error
    assert record.channel_id is None  # no channel answered
    assert [(a["channel_id"], a["status"]) for a in record.attempts] == [(channel.pk, 500)]
    assert "the server had an error" in record.attempts[0]["error"]
    assert failing.api_key not in str(record.attempts) + record.error
    assert failing.base_url.split("//")[1] not in str(record.attempts) + record.error
    assert (record.prompt_tokens, record.total_tokens, record.estimated) == (0, 0, False)


def test_the_channel_key_an_upstream_echoes_is_not_recorded(
    metered: Gateway, upstream: FakeUpstream
) -> None:
    # A wrong key: this upstream echoes the key and its own address in its 401.
    make_channel(upstream, key="sk-wrong-channel-key-1234567890abcdef")
    key = make_token().key

    assert metered.post_chat(key).status_code == 502

    [record] = wait_for_records(1)
    assert "Incorrect API key provided" in record.error
    recorded = str(record.attempts) + record.error
    assert "sk-wrong-channel-key-1234567890abcdef" not in recorded
    assert upstream.base_url.split("//")[1] not in recorded


def test_a_failover_is_one_record_holding_the_whole_chain(
    metered: Gateway, upstream: FakeUpstream
) -> None:
    error = {"message": "overloaded", "type": "server_error", "code": None}
    with running_upstream(name="broken", fail_with=(503, {"error": error})) as broken:
        first = make_channel(broken, name="Broken", priority=1)  # tried first
        second = make_channel(upstream, name="Working")
        key = make_token().key

        response = metered.post_chat(key)

    assert response.status_code == 200
    [record] = wait_for_records(1)
    assert record.channel_id == second.pk
    assert [(a["channel_id"], a["status"]) for a in record.attempts] == [
        (first.pk, 503),
        (second.pk, 200),
    ]
    assert "overloaded" in record.attempts[0]["error"]
    assert record.attempts[1]["error"] is None
    assert (record.status, record.total_tokens) == (200, 8)


def test_a_refused_token_leaves_no_record(metered: Gateway, upstream: FakeUpstream) -> None:
    make_channel(upstream)
    key = make_token().key

    refused = metered.post_chat("sk-" + "x" * 48, headers={"X-Request-Id": "req-refused"})
    accepted = metered.post_chat(key, headers={"X-Request-Id": "req-accepted"})

    assert (refused.status_code, accepted.status_code) == (401, 200)
    # The accepted one is written after the refused one was answered: it was never queued.
    wait_for_records(1, request_id="req-accepted")
    assert list(UsageRecord.objects.values_list("request_id", flat=True)) == ["req-accepted"]


def test_a_refusal_after_the_token_is_recorded(metered: Gateway, upstream: FakeUpstream) -> None:
    make_channel(upstream)
    key = make_token(models=["gpt-4o-mini"]).key

    response = metered.post_chat(key, model="gpt-4o")

    assert response.status_code == 403
    [record] = wait_for_records(1)
    assert (record.status, record.requested_model, record.attempts) == (403, "gpt-4o", [])
    assert "may not use the model" in record.error


def test_other_endpoints_record_what_the_upstream_reports(
    metered: Gateway, upstream: FakeUpstream
) -> None:
    make_channel(upstream)
    key = make_token().key

    response = httpx.post(
        metered.v1 + "/embeddings",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": "text-embedding-3-small", "input": ["a", "b"]},
        timeout=30,
    )

    assert response.status_code == 200
    [record] = wait_for_records(1)
    assert record.endpoint == "/v1/embeddings"
    assert (record.prompt_tokens, record.completion_tokens, record.total_tokens) == (2, 0, 2)
    assert record.estimated is False
