"""channels_admin.probe: the channel test and the upstream model list, against real HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from asgiref.sync import async_to_sync

from channels_admin import probe
from channels_admin.models import Channel, ChannelKey
from channels_admin.probe import (
    UpstreamModelsError,
    fetch_upstream_models,
    run_channel_test,
    run_channel_tests,
)
from tests.support.audit import ALICE
from tests.support.factories import make_channel
from tests.support.fake_upstream import FakeUpstream, running_upstream
from tests.support.servers import closed_url

WRONG_KEY = "sk-wrong-key-for-the-fake-upstream-000"


# --- run_channel_test --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_working_channel_passes_and_is_recorded(upstream: FakeUpstream) -> None:
    channel = make_channel(upstream)
    result = async_to_sync(run_channel_test)(channel, actor=ALICE)
    assert result.ok is True
    assert result.error is None
    assert result.model == "gpt-4o-mini"
    assert result.as_dict() == {
        "ok": True,
        "latency_ms": result.latency_ms,
        "model": "gpt-4o-mini",
        "error": None,
        "keys": [
            {
                "index": 0,
                "mask": "sk-…" + upstream.api_key[-4:],
                "ok": True,
                "latency_ms": result.latency_ms,
                "error": None,
                "disabled": False,
            }
        ],
    }
    channel.refresh_from_db()
    assert channel.last_response_ms == result.latency_ms
    assert channel.last_test_at is not None
    [request] = upstream.requests
    assert request.json()["messages"][0]["role"] == "user"


@pytest.mark.django_db
def test_a_rejected_key_fails_with_a_scrubbed_message(upstream: FakeUpstream) -> None:
    channel = make_channel(upstream, key=WRONG_KEY)
    result = async_to_sync(run_channel_test)(channel, actor=ALICE)
    assert result.ok is False
    assert result.error is not None
    assert "Incorrect API key provided" in result.error
    assert WRONG_KEY not in result.error
    assert upstream.v1 not in result.error
    assert "[redacted]" in result.error


@pytest.mark.django_db
def test_a_200_that_is_not_a_completion_fails() -> None:
    with running_upstream(fail_with=(200, {"hello": "world"})) as upstream:
        channel = make_channel(upstream)
        result = async_to_sync(run_channel_test)(channel, actor=ALICE)
    assert result.ok is False
    assert result.error == "The upstream answered 200 but not with a chat completion."


@pytest.mark.django_db
def test_an_unreachable_upstream_fails() -> None:
    base_url = closed_url() + "/v1"
    channel = make_channel(base_url=base_url)
    result = async_to_sync(run_channel_test)(channel, actor=ALICE)
    assert result.ok is False
    assert result.error is not None
    assert result.error.startswith("Could not reach the upstream")
    assert base_url not in result.error
    channel.refresh_from_db()
    assert channel.last_test_at is not None


@pytest.mark.django_db
def test_a_timeout_is_reported_plainly(monkeypatch: pytest.MonkeyPatch) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    monkeypatch.setattr(probe, "get_admin_client", lambda: client)
    channel = make_channel(base_url="https://slow.example.net/v1")
    result = async_to_sync(run_channel_test)(channel, actor=ALICE)
    assert result.ok is False
    assert result.error == "The upstream did not answer within 30s."


@pytest.mark.django_db
def test_a_channel_whose_key_cannot_be_decrypted_fails_without_calling(
    upstream: FakeUpstream,
) -> None:
    channel = make_channel(upstream)
    ChannelKey.objects.filter(channel=channel).update(key_encrypted="not-a-fernet-token")
    channel.refresh_from_db()
    result = async_to_sync(run_channel_test)(channel, actor=ALICE)
    assert result.ok is False
    assert result.error is not None and "cannot be decrypted" in result.error
    assert upstream.requests == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "key_is_right", "after"),
    [
        ("auto_disabled", True, "enabled"),
        ("auto_disabled", False, "auto_disabled"),
        ("disabled", True, "disabled"),
    ],
)
def test_only_an_auto_disabled_channel_is_re_enabled(
    upstream: FakeUpstream, status: str, key_is_right: bool, after: str
) -> None:
    channel = make_channel(upstream, key=upstream.api_key if key_is_right else WRONG_KEY)
    Channel.objects.filter(pk=channel.pk).update(status=status, status_reason="earlier failure")
    channel.refresh_from_db()
    assert async_to_sync(run_channel_test)(channel, actor=ALICE).ok is key_is_right
    channel.refresh_from_db()
    assert channel.status == after


@pytest.mark.django_db
def test_run_channel_tests_keeps_the_order_and_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    in_flight = 0
    most = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        # Yield a few times so every admitted test is in here before any leaves.
        for _ in range(10):
            await asyncio.sleep(0)
        in_flight -= 1
        if request.headers["authorization"] == "Bearer sk-bad-key-000000000000":
            return httpx.Response(401, json={"error": {"message": "bad key"}})
        return httpx.Response(200, json={"choices": []})

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    monkeypatch.setattr(probe, "get_admin_client", lambda: client)
    channels = [
        make_channel(
            base_url=f"https://u{i}.example.net/v1",
            key="sk-bad-key-000000000000" if i == 4 else f"sk-good-key-{i:012d}",
            models=[f"model-{i}"],
        )
        for i in range(7)
    ]
    results = async_to_sync(run_channel_tests)(channels, actor=ALICE, concurrency=3)
    # One result per channel, in the channels' order (each tests its own model).
    assert [r.model for r in results] == [f"model-{i}" for i in range(7)]
    assert [r.ok for r in results] == [True, True, True, True, False, True, True]
    assert results[4].error == "bad key"
    assert most == 3


# --- fetch_upstream_models ---------------------------------------------------------------


def test_it_lists_the_upstream_models_sorted(upstream: FakeUpstream) -> None:
    upstream.models = ["zeta", "alpha", "mid", "alpha"]
    models = async_to_sync(fetch_upstream_models)(upstream.v1 + "/ ", upstream.api_key)
    assert models == ["alpha", "mid", "zeta"]
    [request] = upstream.requests
    assert (request.method, request.path) == ("GET", "/v1/models")
    assert request.headers["authorization"] == f"Bearer {upstream.api_key}"


def test_a_wrong_key_raises_a_scrubbed_error(upstream: FakeUpstream) -> None:
    with pytest.raises(UpstreamModelsError) as info:
        async_to_sync(fetch_upstream_models)(upstream.v1, WRONG_KEY)
    message = str(info.value)
    assert "Incorrect API key provided" in message
    assert WRONG_KEY not in message
    assert upstream.v1 not in message


def test_an_upstream_error_status_raises() -> None:
    with running_upstream(fail_with=(503, {"error": {"message": "overloaded"}})) as upstream:
        with pytest.raises(UpstreamModelsError, match=r"^overloaded$"):
            async_to_sync(fetch_upstream_models)(upstream.v1, upstream.api_key)


@pytest.mark.parametrize("payload", [{"data": "nope"}, {"models": []}, {"data": [1, 2]}, []])
def test_an_answer_that_is_not_a_model_list_raises(payload: Any) -> None:
    with running_upstream(fail_with=(200, payload)) as upstream:
        with pytest.raises(UpstreamModelsError, match="not a model list"):
            async_to_sync(fetch_upstream_models)(upstream.v1, upstream.api_key)


def test_an_unreachable_upstream_raises() -> None:
    base_url = closed_url() + "/v1"
    with pytest.raises(UpstreamModelsError, match=r"^Could not reach the upstream") as info:
        async_to_sync(fetch_upstream_models)(base_url, "sk-some-key-1234567890")
    assert base_url not in str(info.value)
