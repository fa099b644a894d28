"""The OpenAI error shape, and the scrubbing that keeps keys and upstream URLs out of it."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

import orjson

# Status -> the `type` OpenAI uses for it.
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}


def error_body(
    status: int,
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    type: str | None = None,
) -> bytes:
    error_type = type or _TYPES.get(
        status, "api_error" if status >= 500 else "invalid_request_error"
    )
    return orjson.dumps(
        {"error": {"message": message, "type": error_type, "param": param, "code": code}}
    )


def secrets_of(api_key: str, base_url: str) -> list[str]:
    """What must never leave the gateway about a channel: its key and where it lives."""
    parts = urlsplit(base_url)
    return [api_key, base_url, parts.netloc, parts.hostname or ""]


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace each secret (a channel key, a base URL and its host) by a neutral word."""
    for secret in secrets:
        if secret and len(secret) >= 4 and secret in text:
            text = text.replace(secret, "[redacted]")
    return text


def upstream_error_message(status: int, content: bytes) -> str:
    """The message an upstream's error response carries, or a plain description of it."""
    try:
        payload = orjson.loads(content)
    except orjson.JSONDecodeError:
        payload = None
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"]
        if isinstance(error, str):
            return error
        if isinstance(payload.get("message"), str):
            return payload["message"]
    text = content[:300].decode("utf-8", "replace").strip()
    if text:
        return f"The upstream answered HTTP {status}: {text}"
    return f"The upstream answered HTTP {status}."
