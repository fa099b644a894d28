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
from urllib.parse import quote, urlencode

import httpx
import orjson
from asgiref.sync import sync_to_async
from django.db.models import prefetch_related_objects

from audit.services import SYSTEM, Actor
from channels_admin.models import Channel, ChannelKey, ChannelStatus, ChannelType, KeyStatus
from channels_admin.selectors import upstream_model
from channels_admin.services import (
    channel_auto_disable,
    channel_key_disable,
    channel_key_enable,
    channel_record_test,
)
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
# Sent to an Anthropic upstream (the relay sends the same when a client gives none).
ANTHROPIC_VERSION = "2023-06-01"
# Anthropic lists 20 models a page unless asked for more; 1000 is its most.
ANTHROPIC_MODELS_PAGE = 1000
# Keys of one channel tested at once.
KEY_TEST_CONCURRENCY = 4
# Lower-cased words of a refusal that means the key's account is out of quota or credit: the
# key is disabled, as for a 401. (The relay keeps its own, longer list for live traffic.)
QUOTA_WORDS = (
    "insufficient_quota",
    "exceeded your current quota",
    "quota",
    "billing",
    "credit balance is too low",
    "insufficient balance",
    "余额不足",
    "欠费",
    "额度不足",
)


@dataclass(frozen=True)
class KeyTestResult:
    """One key's part of a channel test: its mask, never the key."""

    index: int
    mask: str
    ok: bool
    latency_ms: int
    error: str | None
    # The test disabled this key: the upstream refused it (401, 403, quota gone).
    disabled: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "index": self.index,
            "mask": self.mask,
            "ok": self.ok,
            "latency_ms": self.latency_ms,
            "error": self.error,
            "disabled": self.disabled,
        }


@dataclass(frozen=True)
class ChannelTestResult:
    ok: bool
    latency_ms: int
    model: str
    error: str | None
    # Each tested key's outcome, in index order; the channel passes when one key does.
    keys: tuple[KeyTestResult, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "latency_ms": self.latency_ms,
            "model": self.model,
            "error": self.error,
            "keys": [key.as_dict() for key in self.keys],
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


def auth_headers(type_: str, api_key: str) -> dict[str, str]:
    """How each type of upstream takes its key."""
    if type_ == ChannelType.ANTHROPIC:
        return {"x-api-key": api_key, "anthropic-version": ANTHROPIC_VERSION}
    if type_ == ChannelType.AZURE:
        return {"api-key": api_key}
    return {"Authorization": f"Bearer {api_key}"}


async def call_upstream(
    method: str,
    url: str,
    *,
    api_key: str,
    base_url: str,
    json: object = None,
    type_: str = ChannelType.OPENAI,
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
                headers={**auth_headers(type_, api_key), "Accept-Encoding": "identity"},
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


def _test_call(channel: Channel, model: str) -> tuple[str, dict[str, object]]:
    """The URL and body of the smallest real request to the channel's kind of upstream."""
    messages = [{"role": "user", "content": TEST_PROMPT}]
    if channel.type == ChannelType.ANTHROPIC:
        return f"{channel.base_url}/v1/messages", {
            "model": model,
            "max_tokens": 1,
            "messages": messages,
        }
    if channel.type == ChannelType.AZURE:
        # The mapping names the deployment; Azure takes the model from it, not the body.
        query = urlencode({"api-version": channel.api_version})
        deployment = quote(model, safe="")
        url = f"{channel.base_url}/openai/deployments/{deployment}/chat/completions?{query}"
        return url, {"messages": messages}
    return f"{channel.base_url}/chat/completions", {"model": model, "messages": messages}


def _answer_problem(channel: Channel, body: bytes) -> str | None:
    """Why a 200 is not the answer asked for, or None."""
    try:
        answer = orjson.loads(body)
        if channel.type == ChannelType.ANTHROPIC:
            if not isinstance(answer["content"], list):
                raise TypeError
        elif not isinstance(answer["choices"], list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        if channel.type == ChannelType.ANTHROPIC:
            return "The upstream answered 200 but not with a message."
        return "The upstream answered 200 but not with a chat completion."
    return None


def key_refused(status: int, body: bytes) -> bool:
    """Whether an answer says this key cannot be used (rather than the request or the
    upstream being at fault): 401, 402, 403, or a 429 for quota or credit gone."""
    if status in (401, 402, 403):
        return True
    if status != 429:
        return False
    text = body[:MAX_ANSWER_BYTES].decode("utf-8", "replace").lower()
    return any(word in text for word in QUOTA_WORDS)


async def _test_key(
    channel: Channel, model: str, api_key: str
) -> tuple[bool, int, str | None, bool]:
    """(passed, milliseconds, error, refused) of one key's test request."""
    started = time.perf_counter()

    def elapsed() -> int:
        return int((time.perf_counter() - started) * 1000)

    url, payload = _test_call(channel, upstream_model(channel.model_mapping, model))
    try:
        status, body = await call_upstream(
            "POST",
            url,
            api_key=api_key,
            base_url=channel.base_url,
            json=payload,
            type_=channel.type,
        )
    except UpstreamCallError as exc:
        return False, elapsed(), str(exc), False
    if status != 200:
        error = _upstream_error(status, body, api_key, channel.base_url)
        return False, elapsed(), error, key_refused(status, body)
    problem = _answer_problem(channel, body)
    return problem is None, elapsed(), problem, False


def _keys_to_test(channel: Channel) -> list[ChannelKey]:
    """The enabled keys; when none is enabled, every key, so that a channel whose keys were
    all refused comes back (through a test or the prober) once one works again."""
    keys = channel.key_list()
    enabled = [key for key in keys if key.status == KeyStatus.ENABLED]
    return enabled or keys


def _prefetched(channel: Channel) -> bool:
    cache: dict[str, object] = getattr(channel, "_prefetched_objects_cache", {})
    return "keys" in cache


async def _test_keys(
    channel: Channel, model: str, keys: list[ChannelKey], actor: Actor
) -> list[KeyTestResult]:
    gate = asyncio.Semaphore(KEY_TEST_CONCURRENCY)

    async def one(key: ChannelKey) -> KeyTestResult:
        try:
            api_key = key.plaintext
        except ValueError as exc:
            return KeyTestResult(key.index, key.key_mask, False, 0, str(exc))
        async with gate:
            ok, latency_ms, error, refused = await _test_key(channel, model, api_key)
        disabled = False
        if refused and key.status == KeyStatus.ENABLED:
            disabled = await sync_to_async(channel_key_disable)(
                channel_id=channel.pk,
                index=key.index,
                reason=f"The channel test failed with this key: {error}",
            )
        elif ok and key.status != KeyStatus.ENABLED:
            await sync_to_async(channel_key_enable)(channel=channel, index=key.index, actor=actor)
        return KeyTestResult(key.index, key.key_mask, ok, latency_ms, error, disabled)

    return list(await asyncio.gather(*(one(key) for key in keys)))


def _overall(model: str, results: list[KeyTestResult]) -> ChannelTestResult:
    """The channel passes when one of its keys does; a failure names the key when there are
    several."""
    passed = [result for result in results if result.ok]
    if passed:
        return ChannelTestResult(True, passed[0].latency_ms, model, None, tuple(results))
    first = results[0]
    error = first.error or "unknown error"
    if len(results) > 1:
        error = f"Every key failed; key #{first.index} ({first.mask}): {error}"
    return ChannelTestResult(False, first.latency_ms, model, error, tuple(results))


async def run_channel_test(
    channel: Channel, *, actor: Actor, enabled_detail: str | None = None
) -> ChannelTestResult:
    """Send a minimal real request with each enabled key and record the outcome on the
    channel: it passes when one key does. A key the upstream refuses (401, 403, quota gone)
    is disabled alone.

    A pass re-enables an auto-disabled channel (`enabled_detail` says why in the audit log);
    a manually disabled one stays disabled. Each test is an audit event of `actor`.
    """
    model = channel.effective_test_model
    if not model:
        result = ChannelTestResult(False, 0, "", "The channel has no model to test.")
        await _record(channel, result, actor, reached=False, enabled_detail=enabled_detail)
        return result
    if _prefetched(channel):
        keys = _keys_to_test(channel)
    else:
        keys = await sync_to_async(_keys_to_test)(channel)
    if not keys:
        result = ChannelTestResult(False, 0, model, "The channel has no key.")
        await _record(channel, result, actor, reached=False, enabled_detail=enabled_detail)
        return result
    results = await _test_keys(channel, model, keys, actor)
    result = _overall(model, results)
    reached = any(key.latency_ms or key.ok for key in results)
    await _record(channel, result, actor, reached=reached, enabled_detail=enabled_detail)
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


async def recheck_refused_key(channel_id: int, index: int) -> ChannelTestResult | None:
    """After an upstream refused one key while relaying: that key's own clean test decides.

    Tests just that key with the gateway's minimal request (not recorded as the channel's
    test); a failure disables the key (channel_key_disable, which auto-disables the channel
    when it was the last). None when the channel is not enabled, or the key is gone or
    already disabled (nothing to decide).
    """
    channel = await Channel.objects.filter(pk=channel_id).afirst()
    if channel is None or channel.status != ChannelStatus.ENABLED:
        return None
    key = await ChannelKey.objects.filter(
        channel_id=channel_id, index=index, status=KeyStatus.ENABLED
    ).afirst()
    model = channel.effective_test_model
    if key is None or not model:
        return None
    error: str | None
    try:
        api_key = key.plaintext
    except ValueError as exc:
        ok, latency_ms, error = False, 0, str(exc)
    else:
        ok, latency_ms, error, _refused = await _test_key(channel, model, api_key)
    disabled = False
    if not ok:
        disabled = await sync_to_async(channel_key_disable)(
            channel_id=channel_id,
            index=index,
            reason=f"The upstream refused a request and the key's test failed: {error}",
        )
    outcome = KeyTestResult(index, key.key_mask, ok, latency_ms, error, disabled)
    return ChannelTestResult(ok, latency_ms, model, error, (outcome,))


async def run_channel_tests(
    channels: Iterable[Channel], *, actor: Actor, concurrency: int = 5
) -> list[ChannelTestResult]:
    """Test many channels at once, at most `concurrency` in flight."""
    gate = asyncio.Semaphore(concurrency)
    channels = list(channels)
    # Every channel's keys in one query, before any test starts.
    await sync_to_async(prefetch_related_objects)(channels, "keys")

    async def one(channel: Channel) -> ChannelTestResult:
        async with gate:
            return await run_channel_test(channel, actor=actor)

    return list(await asyncio.gather(*(one(channel) for channel in channels)))


class UpstreamModelsError(Exception):
    pass


def _models_url(base_url: str, type_: str, api_version: str) -> str:
    if type_ == ChannelType.ANTHROPIC:
        return f"{base_url}/v1/models?limit={ANTHROPIC_MODELS_PAGE}"
    if type_ == ChannelType.AZURE:
        return f"{base_url}/openai/models?{urlencode({'api-version': api_version})}"
    return f"{base_url}/models"


async def fetch_upstream_models(
    base_url: str, api_key: str, type_: str = ChannelType.OPENAI, api_version: str = ""
) -> list[str]:
    """The model IDs an upstream lists for this key, sorted: `/models` of an
    OpenAI-compatible one, `/v1/models` of Anthropic, `/openai/models` of Azure."""
    base_url = base_url.strip().rstrip("/")
    try:
        status, body = await call_upstream(
            "GET",
            _models_url(base_url, type_, api_version),
            api_key=api_key,
            base_url=base_url,
            type_=type_,
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
