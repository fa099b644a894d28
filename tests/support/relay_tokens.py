"""The relay's own token check, for tests that prove a key works (or no longer does).

Runs `TokenKeys.authenticate`, the function every /v1 request goes through, fresh (nothing
remembered) and in the test's thread, so it sees the test's rows even inside its transaction.
"""

from __future__ import annotations

from asgiref.sync import async_to_sync

from core.errors import ApiError
from gateway.relay.token_check import TokenKeys, TokenRecord


def relay_token(key: str, client_ip: str | None = "127.0.0.1") -> TokenRecord:
    """The token the relay accepts `key` as; raises ApiError if the relay refuses it."""
    return async_to_sync(TokenKeys().authenticate)(key, client_ip)


def relay_refusal(key: str, client_ip: str | None = "127.0.0.1") -> str | None:
    """The error code the relay refuses `key` with, or None when it accepts the key."""
    try:
        relay_token(key, client_ip)
    except ApiError as refusal:
        return refusal.code
    return None
