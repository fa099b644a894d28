"""Errors of the translating relays, and the Anthropic error shape.

- `TranslationError(message, param=None)`: a request that cannot be translated (malformed, or
  asking for something the other API cannot do); the relay answers 400 with `.message` (and
  `.param`, the dotted path of the offending field, e.g. "messages.2.content.0.type").
- `anthropic_error_type(status)`: Anthropic's error type for an HTTP status.
- `anthropic_error_body(status, message)`: `{"type": "error", "error": {"type", "message"}}`.
- `openai_error_to_anthropic(body, status=None)`: an OpenAI-shape error body (`{"error":
  {"message", "type", ...}}`) in Anthropic's shape, the same message; its type from `status`
  when given, else from the OpenAI error's type.
- `anthropic_error_message(content)`: the message of an Anthropic error body, or None.
- `usage_of_message(message)`: `(prompt, completion, total)` tokens of an Anthropic Message,
  prompt counting cache writes and reads too (as OpenAI's prompt_tokens does), or None.
"""

from __future__ import annotations

from typing import Any

import orjson

_TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    504: "timeout_error",
    529: "overloaded_error",
}
# OpenAI error types (and codes) with an Anthropic counterpart other than api_error.
_TYPE_BY_OPENAI_TYPE = {
    "invalid_request_error": "invalid_request_error",
    "authentication_error": "authentication_error",
    "invalid_api_key": "authentication_error",
    "permission_error": "permission_error",
    "permission_denied": "permission_error",
    "not_found_error": "not_found_error",
    "model_not_found": "not_found_error",
    "rate_limit_error": "rate_limit_error",
    "rate_limit_exceeded": "rate_limit_error",
    "insufficient_quota": "rate_limit_error",
    "requests": "rate_limit_error",
    "tokens": "rate_limit_error",
    "overloaded_error": "overloaded_error",
}


class TranslationError(ValueError):
    """A request the translation refuses: the client's mistake, answered with a 400."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


def anthropic_error_type(status: int) -> str:
    if status in _TYPE_BY_STATUS:
        return _TYPE_BY_STATUS[status]
    if 400 <= status < 500:
        return "invalid_request_error"
    return "api_error"


def anthropic_error(error_type: str, message: str) -> bytes:
    return orjson.dumps({"type": "error", "error": {"type": error_type, "message": message}})


def anthropic_error_body(status: int, message: str) -> bytes:
    return anthropic_error(anthropic_error_type(status), message)


def openai_error_to_anthropic(body: bytes, status: int | None = None) -> bytes:
    message, openai_type = _openai_error(body)
    if status is not None:
        error_type = anthropic_error_type(status)
    else:
        error_type = _TYPE_BY_OPENAI_TYPE.get(openai_type or "", "api_error")
    return anthropic_error(error_type, message)


def _openai_error(body: bytes) -> tuple[str, str | None]:
    """The message and type (or code) of an OpenAI-shape error body, however loose."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        text = body.decode("utf-8", "replace").strip()
        return (text or "Upstream error"), None
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        message = error.get("message")
        kind = error.get("type") or error.get("code")
        return (
            message if isinstance(message, str) and message else "Upstream error",
            kind if isinstance(kind, str) else None,
        )
    if isinstance(error, str) and error:
        return error, None
    if isinstance(payload, dict) and isinstance(payload.get("message"), str):
        return payload["message"], None
    return "Upstream error", None


def anthropic_error_message(content: bytes) -> str | None:
    try:
        payload = orjson.loads(content)
    except orjson.JSONDecodeError:
        return None
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        message: str = error["message"]
        return message
    return None


def usage_of_message(message: dict[str, Any]) -> tuple[int, int, int] | None:
    usage = message.get("usage")
    if not isinstance(usage, dict):
        return None
    prompt = _count(usage, "input_tokens")
    prompt += _count(usage, "cache_creation_input_tokens")
    prompt += _count(usage, "cache_read_input_tokens")
    completion = _count(usage, "output_tokens")
    return prompt, completion, prompt + completion


def _count(usage: dict[str, Any], key: str) -> int:
    value = usage.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
