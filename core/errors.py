"""The OpenAI error shape, and the scrubbing that keeps keys and upstream URLs out of it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
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
# How much of a non-JSON upstream error reaches the client, after scrubbing.
ERROR_TEXT_LIMIT = 300
_REDACTED = "[redacted]"
# Shorter "secrets" (a host named `ai`, say) would redact ordinary words.
_MIN_SECRET = 4
_SURROGATES = re.compile("[\ud800-\udfff]")


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
    error = {"message": message, "type": error_type, "param": param, "code": code}
    try:
        return orjson.dumps({"error": error})
    except orjson.JSONEncodeError:
        # A lone surrogate (from a client's or an upstream's text) cannot be encoded as
        # UTF-8; an error must still go out, so such characters become U+FFFD.
        return orjson.dumps({"error": {k: _encodable(v) for k, v in error.items()}})


def _encodable(value: str | None) -> str | None:
    if value is None:
        return None
    return _SURROGATES.sub("\ufffd", value)


def secrets_of(api_key: str, base_url: str) -> list[str]:
    """What must never leave the gateway about a channel: its key and where it lives."""
    parts = urlsplit(base_url)
    secrets = [api_key, base_url, parts.netloc, parts.hostname or ""]
    # Longest first, so a URL goes as a whole before its host is found inside it.
    return sorted((s for s in secrets if len(s) >= _MIN_SECRET), key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace each secret (a channel key, a base URL and its host) by a neutral word."""
    for secret in secrets:
        if secret and len(secret) >= _MIN_SECRET and secret in text:
            text = text.replace(secret, _REDACTED)
    return text


def scrub_bytes(data: bytes, secrets: Sequence[bytes]) -> bytes:
    for secret in secrets:
        # find, not `in`: CPython's bytes `in` first tries the operand as an integer and
        # makes and drops a TypeError (about 2,000 instructions, callgrind), on every chunk.
        if data.find(secret) >= 0:
            data = data.replace(secret, _REDACTED.encode())
    return data


def encoded_secrets(secrets: Iterable[str]) -> list[bytes]:
    return [s.encode("utf-8", "replace") for s in secrets if len(s) >= _MIN_SECRET]


def upstream_error_message(status: int, content: bytes, secrets: Iterable[str] = ()) -> str:
    """The message an upstream's error response carries, or a plain description of it.

    Secrets are scrubbed before any cut, so no part of a key survives at the edge.
    """
    secrets = list(secrets)
    try:
        payload = orjson.loads(content)
    except orjson.JSONDecodeError:
        payload = None
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return scrub(error["message"], secrets)
        if isinstance(error, str):
            return scrub(error, secrets)
        if isinstance(payload.get("message"), str):
            return scrub(payload["message"], secrets)
    text = scrub(content.decode("utf-8", "replace"), secrets).strip()[:ERROR_TEXT_LIMIT]
    if text:
        return f"The upstream answered HTTP {status}: {text}"
    return f"The upstream answered HTTP {status}."


class ApiError(Exception):
    """Answer the client with this status and code, in OpenAI's error shape.

    Raised anywhere below an admin API view or in the relay: `core.api.api_view` renders it
    for the API, the relay app (through gateway/relay/responses.py) for /v1.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.headers = headers or {}
        self.type = type  # None: the usual type for the status
