"""The built-in channel test and the upstream model list: real calls to a channel's upstream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass

import httpx
from asgiref.sync import sync_to_async

from channels_admin.models import Channel, ChannelStatus
from channels_admin.services import channel_auto_disable, channel_record_test
from gateway.relay.errors import scrub, secrets_of, upstream_error_message
from gateway.relay.upstream import get_admin_client

TEST_PROMPT = "Say hi."
TEST_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class ChannelTestResult:
    channel_id: int
    ok: bool
    latency_ms: int
    model: str
    error: str | None

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "latency_ms": self.latency_ms,
            "model": self.model,
            "error": self.error,
        }


async def _call_upstream(channel: Channel, api_key: str) -> tuple[bool, int, str | None]:
    model = channel.upstream_model(channel.effective_test_model)
    started = time.perf_counter()
    try:
        response = await get_admin_client().post(
            f"{channel.base_url}/chat/completions",
            json={"model": model, "messages": [{"role": "user", "content": TEST_PROMPT}]},
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=TEST_TIMEOUT_SECONDS,
        )
    except httpx.TimeoutException:
        elapsed = int((time.perf_counter() - started) * 1000)
        return False, elapsed, f"The upstream did not answer within {TEST_TIMEOUT_SECONDS:g}s."
    except httpx.HTTPError as exc:
        elapsed = int((time.perf_counter() - started) * 1000)
        reason = scrub(str(exc) or type(exc).__name__, secrets_of(api_key, channel.base_url))
        return False, elapsed, f"Could not reach the upstream: {reason}"
    elapsed = int((time.perf_counter() - started) * 1000)
    if response.status_code != 200:
        message = upstream_error_message(response.status_code, response.content)
        return False, elapsed, scrub(message, secrets_of(api_key, channel.base_url))
    try:
        choices = response.json()["choices"]
        if not isinstance(choices, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        return False, elapsed, "The upstream answered 200 but not with a chat completion."
    return True, elapsed, None


async def run_channel_test(channel: Channel) -> ChannelTestResult:
    """Send a minimal real chat completion and record the outcome on the channel.

    A pass re-enables an auto-disabled channel; a manually disabled one stays disabled.
    """
    model = channel.effective_test_model
    if not model:
        return ChannelTestResult(channel.pk, False, 0, "", "The channel has no model to test.")
    try:
        api_key = channel.api_key
    except ValueError as exc:
        return ChannelTestResult(channel.pk, False, 0, model, str(exc))
    ok, latency_ms, error = await _call_upstream(channel, api_key)
    await sync_to_async(channel_record_test)(channel=channel, ok=ok, latency_ms=latency_ms)
    return ChannelTestResult(channel.pk, ok, latency_ms, model, error)


async def recheck_refused_channel(channel_id: int) -> ChannelTestResult | None:
    """After an upstream 401 seen while relaying: the channel test decides, not the 401.

    A client's request can earn a 401 by itself (a header or body the upstream rejects), so
    the refusal only triggers this clean check with the gateway's own minimal request; only
    the check's failure takes the channel out of rotation. None when the channel is gone or
    not enabled (nothing to decide).
    """
    channel = await Channel.objects.filter(pk=channel_id).afirst()
    if channel is None or channel.status != ChannelStatus.ENABLED:
        return None
    result = await run_channel_test(channel)
    if not result.ok:
        await sync_to_async(channel_auto_disable)(
            channel_id=channel_id,
            reason=f"The upstream refused a request and the channel test failed: {result.error}",
        )
    return result


async def run_channel_tests(
    channels: Iterable[Channel], *, concurrency: int = 5
) -> list[ChannelTestResult]:
    """Test many channels at once, at most `concurrency` in flight."""
    gate = asyncio.Semaphore(concurrency)

    async def one(channel: Channel) -> ChannelTestResult:
        async with gate:
            return await run_channel_test(channel)

    return list(await asyncio.gather(*(one(channel) for channel in channels)))


class UpstreamModelsError(Exception):
    pass


async def fetch_upstream_models(base_url: str, api_key: str) -> list[str]:
    """The model IDs an upstream's `/models` lists for this key, sorted."""
    base_url = base_url.strip().rstrip("/")
    try:
        response = await get_admin_client().get(
            f"{base_url}/models",
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=TEST_TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as exc:
        reason = scrub(str(exc) or type(exc).__name__, secrets_of(api_key, base_url))
        raise UpstreamModelsError(f"Could not reach the upstream: {reason}") from None
    if response.status_code != 200:
        message = upstream_error_message(response.status_code, response.content)
        raise UpstreamModelsError(scrub(message, secrets_of(api_key, base_url)))
    try:
        data = response.json()["data"]
        return sorted({item["id"] for item in data if isinstance(item.get("id"), str)})
    except (ValueError, KeyError, TypeError, AttributeError):
        raise UpstreamModelsError("The upstream's /models answer is not a model list.") from None
