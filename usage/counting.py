"""How many tokens a request used: read from the upstream's `usage`, or estimated.

The estimate is a heuristic, not a tokenizer (none is downloaded or bundled): one token per
CJK character (Chinese, Japanese kana, Korean hangul), and one per 4 other characters,
rounded up; a chat message adds 4 tokens for its role and framing, and a request 3 for the
reply's priming, as OpenAI's own counting guide does. English text lands within ~10-20% of
OpenAI's tokenizers; the record says `estimated: true` whenever it was used.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import orjson

_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD = 4
REPLY_PRIMING = 3


def estimate_text_tokens(text: str) -> int:
    if not text:
        return 0
    cjk = len(_CJK.findall(text))
    rest = len(text) - cjk
    return cjk + -(-rest // CHARS_PER_TOKEN)


def read_usage(usage: object) -> tuple[int, int, int] | None:
    """(prompt, completion, total) from an upstream's usage object, in either naming.

    Chat and completions say prompt_tokens/completion_tokens; the Responses API, images and
    audio say input_tokens/output_tokens. None when `usage` is not such an object.
    """
    if not isinstance(usage, dict):
        return None
    prompt = _int(usage.get("prompt_tokens", usage.get("input_tokens")))
    completion = _int(usage.get("completion_tokens", usage.get("output_tokens")))
    total = _int(usage.get("total_tokens"))
    if prompt is None and completion is None and total is None:
        return None
    prompt, completion = prompt or 0, completion or 0
    return prompt, completion, total if total is not None else prompt + completion


def _int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return max(int(value), 0)


def usage_of_answer(payload: object) -> tuple[int, int, int] | None:
    """The usage a whole JSON answer reports (the Responses API nests it in `response`)."""
    if not isinstance(payload, dict):
        return None
    found = read_usage(payload.get("usage"))
    if found is None and isinstance(payload.get("response"), dict):
        found = read_usage(payload["response"].get("usage"))
    return found


def usage_in_tail(content: bytes, window: int = 4096) -> tuple[int, int, int] | None:
    """The usage of a JSON answer too big to parse again (many embeddings, an image): its
    `usage` object sits near the end."""
    at = content.rfind(b'"usage"', max(0, len(content) - window))
    if at < 0:
        return None
    start = content.find(b"{", at)
    end = content.find(b"}", start)
    if start < 0 or end < 0:
        return None
    # The usage object may nest one level (`prompt_tokens_details`): close it as needed.
    for _ in range(4):
        try:
            return read_usage(orjson.loads(content[start : end + 1]))
        except orjson.JSONDecodeError:
            end = content.find(b"}", end + 1)
            if end < 0:
                return None
    return None


def _strings(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            # Image and audio parts carry base64 or URLs, and `type` names a part: no prompt text.
            if key not in ("type", "image_url", "input_audio", "file", "b64_json"):
                _strings(item, out)
    elif isinstance(value, list):
        for item in value:
            _strings(item, out)


def estimate_prompt_tokens(payload: dict[str, Any] | None) -> int:
    """The prompt's size from the request body: messages, prompt or input, and tools."""
    if not payload:
        return 0
    texts: list[str] = []
    messages = payload.get("messages")
    overhead = 0
    if isinstance(messages, list):
        overhead = MESSAGE_OVERHEAD * len(messages) + REPLY_PRIMING
        for message in messages:
            if isinstance(message, dict):
                _strings(message.get("content"), texts)
                _strings(message.get("name"), texts)
                _strings(message.get("tool_calls"), texts)
    for key in ("prompt", "input", "instructions", "system"):
        _strings(payload.get(key), texts)
    for key in ("tools", "functions"):
        if payload.get(key):
            texts.append(orjson.dumps(payload[key]).decode())
    return overhead + sum(estimate_text_tokens(text) for text in texts)


def stream_text(events: Iterable[bytes]) -> str:
    """The text a stream delivered, from its `data:` lines: content, reasoning, refusals,
    tool-call arguments (chat), `text` (completions) and `delta` (Responses API)."""
    parts: list[str] = []
    for line in events:
        if not line.startswith(b"data:"):
            continue
        try:
            event = orjson.loads(line[5:])
        except orjson.JSONDecodeError:
            continue
        if not isinstance(event, dict):
            continue
        if isinstance(event.get("delta"), str):
            parts.append(event["delta"])
        for choice in event.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            if isinstance(choice.get("text"), str):
                parts.append(choice["text"])
            delta = choice.get("delta")
            if isinstance(delta, dict):
                for key in ("content", "reasoning_content", "reasoning", "refusal"):
                    if isinstance(delta.get(key), str):
                        parts.append(delta[key])
                for call in delta.get("tool_calls") or ():
                    function = call.get("function") if isinstance(call, dict) else None
                    if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                        parts.append(function["arguments"])
    return "".join(parts)


def answer_text(payload: object) -> str:
    """The text of a whole chat or completions answer (for an estimate when it has no usage)."""
    if not isinstance(payload, dict):
        return ""
    parts: list[str] = []
    for choice in payload.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        if isinstance(choice.get("text"), str):
            parts.append(choice["text"])
        message = choice.get("message")
        if isinstance(message, dict):
            _strings(message.get("content"), parts)
            _strings(message.get("tool_calls"), parts)
    return "".join(parts)
