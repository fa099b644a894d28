"""The channel test (probe): a minimal real chat completion to a channel's upstream, and the
upstream's model list for "Fetch models".

Named for what it does, not `testing`: it is product code (the Test button, "Test all", the
JSON API's /test and the relay's recheck after a 401), not a test module.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass

import httpx
import orjson
from asgiref.sync import sync_to_async

from audit.services import SYSTEM, Actor
from channels_admin.models import Channel, ChannelStatus
from channels_admin.selectors import upstream_model
from channels_admin.services import channel_auto_disable, channel_record_test
from core.errors import scrub, secrets_of, upstream_error_message
from core.http_clients import get_admin_client

TEST_PROMPT = "Say hi."
# One deadline for a whole test or model list: connecting, sending and reading every byte.
TEST_TIMEOUT_SECONDS = 30.0
# The most of an upstream's answer a test or model list reads; a chat reply to "Say hi." or a
# list of a few thousand models is far smaller.
MAX_ANSWER_BYTES = 1024 * 1024
# An upstream's error message is shown (and logged in the audit) up to this length.
MAX_ERROR_CHARACTERS = 1000


@dataclass(frozen=True)
class ChannelTestResult:
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


class UpstreamCallError(Exception):
    """The upstream could not be asked, or its answer could not be read; safe to show."""


def _size_label(size: int) -> str:
    if size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MiB"
    if size % 1024 == 0:
        return f"{size // 1024} KiB"
    return f"{size} bytes"


def _too_large() -> UpstreamCallError:
    return UpstreamCallError(
        f"The upstream's answer is larger than {_size_label(MAX_ANSWER_BYTES)}; stopped reading."
    )


async def _read_bounded(response: httpx.Response) -> bytes:
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_ANSWER_BYTES:
        raise _too_large()
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > MAX_ANSWER_BYTES:
            raise _too_large()
    return bytes(body)


async def call_upstream(
    method: str, url: str, *, api_key: str, base_url: str, json: object = None
) -> tuple[int, bytes]:
    """(status, body) of one request to an upstream, within one deadline and a size bound.

    httpx's timeouts are per connect and per read, so an upstream that sends a byte now and
    then would hold a test forever; the deadline covers the whole exchange. Errors are
    scrubbed of the key and the address.
    """
    deadline = TEST_TIMEOUT_SECONDS
    try:
        async with asyncio.timeout(deadline):
            async with get_admin_client().stream(
                method,
                url,
                json=json,
                # Identity: a compressed answer could be far larger than what crossed the wire.
                headers={"Authorization": f"Bearer {api_key}", "Accept-Encoding": "identity"},
                timeout=deadline,
            ) as response:
                return response.status_code, await _read_bounded(response)
    except (TimeoutError, httpx.TimeoutException):
        raise UpstreamCallError(f"The upstream did not answer within {deadline:g}s.") from None
    except httpx.HTTPError as exc:
        reason = scrub(str(exc) or type(exc).__name__, secrets_of(api_key, base_url))
        raise UpstreamCallError(f"Could not reach the upstream: {reason}") from None


def _upstream_error(status: int, body: bytes, api_key: str, base_url: str) -> str:
    """The upstream's error message, scrubbed of the key and address first, then cut."""
    message = upstream_error_message(status, body, secrets_of(api_key, base_url))
    if len(message) > MAX_ERROR_CHARACTERS:
        message = message[:MAX_ERROR_CHARACTERS] + "…"
    return message


async def _call_upstream(channel: Channel, api_key: str) -> tuple[bool, int, str | None]:
    model = upstream_model(channel.model_mapping, channel.effective_test_model)
    started = time.perf_counter()

    def elapsed() -> int:
        return int((time.perf_counter() - started) * 1000)

    try:
        status, body = await call_upstream(
            "POST",
            f"{channel.base_url}/chat/completions",
            api_key=api_key,
            base_url=channel.base_url,
            json={"model": model, "messages": [{"role": "user", "content": TEST_PROMPT}]},
        )
    except UpstreamCallError as exc:
        return False, elapsed(), str(exc)
    if status != 200:
        return False, elapsed(), _upstream_error(status, body, api_key, channel.base_url)
    try:
        choices = orjson.loads(body)["choices"]
        if not isinstance(choices, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        return False, elapsed(), "The upstream answered 200 but not with a chat completion."
    return True, elapsed(), None


async def run_channel_test(
    channel: Channel, *, actor: Actor, enabled_detail: str | None = None
) -> ChannelTestResult:
    """Send a minimal real chat completion and record the outcome on the channel.

    A pass re-enables an auto-disabled channel (`enabled_detail` says why in the audit log);
    a manually disabled one stays disabled. Each test is an audit event of `actor`.
    """
    model = channel.effective_test_model
    if not model:
        result = ChannelTestResult(False, 0, "", "The channel has no model to test.")
        await _record(channel, result, actor, reached=False, enabled_detail=enabled_detail)
        return result
    try:
        api_key = channel.api_key
    except ValueError as exc:
        result = ChannelTestResult(False, 0, model, str(exc))
        await _record(channel, result, actor, reached=False, enabled_detail=enabled_detail)
        return result
    ok, latency_ms, error = await _call_upstream(channel, api_key)
    result = ChannelTestResult(ok, latency_ms, model, error)
    await _record(channel, result, actor, reached=True, enabled_detail=enabled_detail)
    return result


async def _record(
    channel: Channel,
    result: ChannelTestResult,
    actor: Actor,
    *,
    reached: bool,
    enabled_detail: str | None,
) -> None:
    detail = {} if enabled_detail is None else {"enabled_detail": enabled_detail}
    await sync_to_async(channel_record_test)(
        channel=channel,
        ok=result.ok,
        latency_ms=result.latency_ms,
        actor=actor,
        error=result.error,
        reached=reached,
        **detail,
    )


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
    result = await run_channel_test(channel, actor=SYSTEM)
    if not result.ok:
        await sync_to_async(channel_auto_disable)(
            channel_id=channel_id,
            reason=f"The upstream refused a request and the channel test failed: {result.error}",
        )
    return result


async def run_channel_tests(
    channels: Iterable[Channel], *, actor: Actor, concurrency: int = 5
) -> list[ChannelTestResult]:
    """Test many channels at once, at most `concurrency` in flight."""
    gate = asyncio.Semaphore(concurrency)

    async def one(channel: Channel) -> ChannelTestResult:
        async with gate:
            return await run_channel_test(channel, actor=actor)

    return list(await asyncio.gather(*(one(channel) for channel in channels)))


class UpstreamModelsError(Exception):
    pass


async def fetch_upstream_models(base_url: str, api_key: str) -> list[str]:
    """The model IDs an upstream's `/models` lists for this key, sorted."""
    base_url = base_url.strip().rstrip("/")
    try:
        status, body = await call_upstream(
            "GET", f"{base_url}/models", api_key=api_key, base_url=base_url
        )
    except UpstreamCallError as exc:
        raise UpstreamModelsError(str(exc)) from None
    if status != 200:
        raise UpstreamModelsError(_upstream_error(status, body, api_key, base_url))
    try:
        data = orjson.loads(body)["data"]
        return sorted({item["id"] for item in data if isinstance(item.get("id"), str)})
    except (ValueError, KeyError, TypeError, AttributeError):
        raise UpstreamModelsError("The upstream's /models answer is not a model list.") from None
