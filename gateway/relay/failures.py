"""What an upstream's error says about its channel: heal by itself, or never.

The relay fails over on every kind below; what differs is what happens to the channel:
- FATAL (a refused key, a deactivated account, no quota or credit left): cannot heal by
  itself. The channel test runs at once (recheck.py) and its failure disables the channel,
  so a client's crafted request still cannot take a channel down.
- MODEL (the upstream says the model does not exist): only that model leaves the channel.
- RATE_LIMITED (429): the channel cools down for its Retry-After; never disabled.
- TRANSIENT (5xx, a timeout, a broken or non-JSON answer): one breaker failure.
- CLIENT (any other 4xx): the request's own fault; passed on, the channel untouched.
"""

from __future__ import annotations

import email.utils
import enum
import re
from collections.abc import Iterable

import orjson

from core.env import env_str


class Failure(enum.Enum):
    FATAL = "fatal"
    MODEL = "model"
    RATE_LIMITED = "rate_limited"
    TRANSIENT = "transient"
    CLIENT = "client"


# Lower-cased substrings of an upstream error's code, type or message that mean the account
# behind the key is unusable. OpenAI's codes, and the usual wording of OpenAI-compatible
# providers (including Chinese ones: balance too low / in arrears / account suspended).
DEFAULT_FATAL_PATTERNS = (
    "insufficient_quota",
    "billing_not_active",
    "billing_hard_limit_reached",
    "account_deactivated",
    "invalid_api_key",
    "access_terminated",
    "organization_deactivated",
    "exceeded your current quota",
    "account has been deactivated",
    "account is not active",
    "credit balance is too low",
    "insufficient balance",
    "insufficient credit",
    "payment required",
    "余额不足",
    "已欠费",
    "欠费",
    "额度不足",
    "账户已停用",
    "账号已被封禁",
)
# Only a plain "no such model" counts: a wider net would let a client's crafted request take
# a model off a channel.
_MODEL_MISSING = re.compile(
    r"model_not_found|model[^.]{0,80}(does not exist|not found)|模型不存在", re.IGNORECASE
)


# 5xx that say something about the request (a missing endpoint, a loop between gateways):
# passed on to the client like a 4xx.
_NOT_THE_CHANNELS_FAULT = frozenset({501, 505, 508})


def fatal_patterns_from_env() -> tuple[str, ...]:
    """TOLLGATE_FATAL_ERROR_PATTERNS: `|`-separated; a leading `+` adds to the defaults."""
    raw = env_str("TOLLGATE_FATAL_ERROR_PATTERNS", "")
    if not raw.strip():
        return DEFAULT_FATAL_PATTERNS
    extend = raw.startswith("+")
    given = tuple(p.strip().lower() for p in raw.lstrip("+").split("|") if p.strip())
    return DEFAULT_FATAL_PATTERNS + given if extend else given


def classify(status: int, body: bytes, fatal_patterns: Iterable[str]) -> Failure:
    """The kind of an upstream's error answer (status >= 400)."""
    text = _error_text(body)
    if status in (401, 403) or status == 402:
        return Failure.FATAL
    if any(pattern in text for pattern in fatal_patterns):
        return Failure.FATAL
    if status == 429:
        return Failure.RATE_LIMITED
    if status in (400, 404) and _MODEL_MISSING.search(text):
        return Failure.MODEL
    if status == 408 or (status >= 500 and status not in _NOT_THE_CHANNELS_FAULT):
        return Failure.TRANSIENT
    return Failure.CLIENT


def _error_text(body: bytes) -> str:
    """The code, type and message of an OpenAI-shaped error, else the body's start."""
    head = body[:4096]
    try:
        payload = orjson.loads(head)
    except orjson.JSONDecodeError:
        return head.decode("utf-8", "replace").lower()
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        parts = [error.get(name) for name in ("code", "type", "message")]
        return " ".join(str(part) for part in parts if part is not None).lower()
    if isinstance(error, str):
        return error.lower()
    message = payload.get("message") if isinstance(payload, dict) else None
    if isinstance(message, str):
        return message.lower()
    return head.decode("utf-8", "replace").lower()


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """Retry-After as seconds from `now` (epoch): delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - now
    if seconds != seconds or seconds <= 0:  # NaN or in the past
        return None
    return min(seconds, 86400.0)
