"""Answers that cross dialects (dialects.py): from an Anthropic upstream, or translated.

A whole answer is parsed, its usage read in the upstream's dialect, translated when the
client speaks the other dialect (else its model renamed back) and sent. A stream goes through
the SSE rewriter (the channel's secrets scrubbed) and then, event by event as it arrives,
through the translator; for an Anthropic stream passed through as it is, a translator to
OpenAI's chunks runs beside it only to read the usage and the text an estimate needs.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson

from core.errors import scrub_bytes
from gateway.relay.dialects import ANTHROPIC, Call, StreamTranslator, answer_usage
from gateway.relay.model_rename import rename_model
from gateway.relay.request import Forward
from gateway.relay.responses import JSON_CONTENT_TYPE, Send, send_whole
from gateway.relay.sse import SSERewriter
from gateway.relay.stream_relay import Watch, relay_chunks, relay_stream
from gateway.relay.translate.errors import anthropic_error_body
from gateway.relay.translate.messages_out import MessagesStreamToChat
from usage.counting import answer_text


class _CrossStream:
    """The rewriter relay_stream feeds: scrubbed lines, then translated (or only observed)."""

    def __init__(self, rewriter: SSERewriter, translator: StreamTranslator, *, emit: bool) -> None:
        self.rewriter = rewriter
        self.translator = translator
        self.emit = emit

    def feed(self, chunk: bytes) -> bytes:
        return self._through(self.rewriter.feed(chunk))

    def flush(self) -> bytes:
        out = self._through(self.rewriter.flush())
        ending = self.translator.finish()
        return out + ending if self.emit else out

    def _through(self, data: bytes) -> bytes:
        if not data:
            return b""
        translated = self.translator.feed(data)
        return translated if self.emit else data


def anthropic_error_event(message: str, code: str) -> bytes:
    del code  # Anthropic's error events carry a type, set by the status
    return b"event: error\ndata: " + anthropic_error_body(502, message) + b"\n\n"


async def answer_across_dialects(
    response: httpx.Response,
    kind: str,
    content: bytes,
    chunks: AsyncIterator[bytes] | None,
    request: Forward,
    call: Call,
    headers: list[tuple[bytes, bytes]],
    send: Send,
    watch: Watch,
    secrets: tuple[bytes, ...],
    key: bytes,
) -> str | None:
    """Answer the client; returns what was wrong with an answer that is none (then nothing
    was sent and the next channel is tried), else None."""
    status = response.status_code
    meter = request.meter
    if kind == "garbage":
        return f"HTTP {status} with an HTML page"
    if chunks is not None and kind != "stream":
        if meter is not None:
            meter.entry.channel_id, meter.answer_status = watch.route.channel_id, status
        broke = await relay_chunks(status, headers, chunks, send, watch)
        if meter is not None and broke:
            meter.entry.error = broke
        return None
    # A pass-through answer names the upstream's model: renamed back to the client's name.
    renamed = (
        request.model if call.translation is None and call.sent_model != request.model else None
    )
    if kind == "stream":
        assert chunks is not None
        await _stream(
            status, content, chunks, request, call, headers, send, watch, secrets, key, renamed
        )
        return None
    try:
        payload = orjson.loads(content)
    except orjson.JSONDecodeError:
        payload = None
    if not isinstance(payload, dict):
        return f"HTTP {status} with a body that is not JSON"
    if meter is not None:
        meter.entry.channel_id, meter.answer_status = watch.route.channel_id, status
        meter.usage = answer_usage(call.upstream_dialect, payload)
        if meter.usage is None:
            meter.answer_text = _text(call.upstream_dialect, payload)
    answer: dict[str, Any]
    if call.translation is not None:
        answer = call.translation.answer(payload)
    else:
        answer = payload
        if renamed is not None:
            rename_model(answer, renamed)
    body = orjson.dumps(answer)
    if key and body.find(key) >= 0:  # find, not `in`: see scrub_bytes
        body = scrub_bytes(body, [key])
    headers = [header for header in headers if header[0] != b"content-type"]
    await send_whole(send, status, [*headers, JSON_CONTENT_TYPE], body)
    return None


async def _stream(
    status: int,
    first: bytes,
    chunks: AsyncIterator[bytes],
    request: Forward,
    call: Call,
    headers: list[tuple[bytes, bytes]],
    send: Send,
    watch: Watch,
    secrets: tuple[bytes, ...],
    key: bytes,
    renamed: str | None,
) -> None:
    meter = request.meter
    if meter is not None:
        meter.entry.channel_id, meter.answer_status = watch.route.channel_id, status
    translation = call.translation
    translator: StreamTranslator = (
        translation.stream()
        if translation is not None
        else MessagesStreamToChat(request.model, include_usage=False, created=int(time.time()))
    )
    rewriter = _CrossStream(
        SSERewriter(renamed, key=key, secrets=secrets), translator, emit=translation is not None
    )
    error_event = anthropic_error_event if request.dialect == ANTHROPIC else None
    try:
        broke = await relay_stream(
            status, headers, first, chunks, rewriter, send, watch, error_event=error_event
        )
        if meter is not None and broke:
            meter.entry.error = broke
    finally:
        # Also when the client left: what was relayed so far is what gets billed.
        if meter is not None:
            meter.usage = translator.usage
            if meter.usage is None:
                meter.answer_text = translator.text
    return None


def _text(dialect: str, payload: dict[str, Any]) -> str:
    if dialect != ANTHROPIC:
        return answer_text(payload)
    blocks = payload.get("content")
    if not isinstance(blocks, list):
        return ""
    return "".join(str(block.get("text") or "") for block in blocks if isinstance(block, dict))
