"""How a presented API key is checked: the relay's one token authentication.

`TokenKeys.authenticate` finds the token by the key's prefix, compares keyed hashes in
constant time, then checks that the token is enabled, not expired, and allowed from the
client's address. What a key resolves to is remembered (unknown keys too) until an admin
change reloads the relay's table, so steady traffic costs no database work.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from core.crypto import hashes_match, keyed_hash
from core.errors import ApiError
from gateway.relay.db import db_call
from tokens.models import TOKEN_KEY_PREFIX, TOKEN_PREFIX_LENGTH, Token, TokenStatus
from tokens.selectors import is_expired

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Unknown keys are remembered so a flood of bad keys does not become a flood of queries.
NEGATIVE_CACHE_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """A token as the relay needs it, read once and kept in memory."""

    id: int
    key_hash: str
    group: str
    enabled: bool
    expires_at: float | None  # epoch seconds
    allowed_models: frozenset[str]  # empty: every model
    allowed_networks: tuple[IPNetwork, ...]  # empty: every address
    rpm_limit: int | None = None  # requests per minute; None: no limit
    tpm_limit: int | None = None  # tokens per minute; None: no limit
    spending_limited: bool = False  # a quota or budget: requests are reserved (billing.py)

    def may_use(self, model: str) -> bool:
        return not self.allowed_models or model in self.allowed_models

    def admits(self, client_ip: str | None) -> bool:
        if not self.allowed_networks:
            return True
        if client_ip is None:
            return False
        try:
            address = ipaddress.ip_address(client_ip)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.allowed_networks)


def parse_networks(values: Sequence[str]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(value, strict=False) for value in values)


def bearer_key(headers: Sequence[tuple[bytes, bytes]]) -> str | None:
    """The key in `Authorization: Bearer <key>`, else in `x-api-key` (as Anthropic's SDKs
    send it); None when there is none."""
    api_key = None
    for name, value in headers:
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credentials.strip():
                return credentials.strip()
            return None
        if name == b"x-api-key" and value.strip():
            api_key = value.decode("latin-1").strip()
    return api_key


def load_token_records(prefix: str) -> list[TokenRecord]:
    """The tokens whose key starts with `prefix` (almost always one), from the database."""
    return [
        TokenRecord(
            id=token.pk,
            key_hash=token.key_hash,
            group=token.group,
            enabled=token.status == TokenStatus.ENABLED,
            expires_at=token.expires_at.timestamp() if token.expires_at else None,
            allowed_models=frozenset(token.allowed_models or ()),
            allowed_networks=parse_networks(token.allowed_ips or ()),
            rpm_limit=token.rpm_limit,
            tpm_limit=token.tpm_limit,
            spending_limited=token.has_spending_limit,
        )
        for token in Token.objects.filter(prefix=prefix)
    ]


async def _load_from_database(prefix: str) -> list[TokenRecord]:
    return await db_call(load_token_records, prefix)


class TokenKeys:
    """The relay's token check, with what each presented key resolved to remembered."""

    def __init__(
        self,
        load: Callable[[str], Awaitable[list[TokenRecord]]] = _load_from_database,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._load = load
        self._clock = clock
        # keyed hash of a presented key -> its token, or None for a key that matches none.
        self._known: dict[str, TokenRecord | None] = {}

    def forget(self) -> None:
        """After an admin change: every key is looked up again on its next use."""
        self._known = {}

    async def authenticate(self, key: str | None, client_ip: str | None) -> TokenRecord:
        """The token a request may act as; raises ApiError (401 or 403) otherwise."""
        if key is None:
            raise ApiError(
                401,
                "Missing API key: send it as `Authorization: Bearer <token>`.",
                code="invalid_api_key",
            )
        token = await self._find(key)
        if token is None:
            raise ApiError(401, "Invalid API key.", code="invalid_api_key")
        if not token.enabled:
            raise ApiError(401, "This API key is disabled.", code="token_disabled")
        if is_expired(token.expires_at, self._clock()):
            raise ApiError(401, "This API key has expired.", code="token_expired")
        if not token.admits(client_ip):
            raise ApiError(
                403, "This API key may not be used from your address.", code="ip_not_allowed"
            )
        return token

    async def _find(self, key: str) -> TokenRecord | None:
        """By prefix, then a constant-time hash compare; remembered, whatever the outcome."""
        if not key.startswith(TOKEN_KEY_PREFIX) or len(key) < TOKEN_PREFIX_LENGTH:
            return None
        presented = keyed_hash(key)
        if presented in self._known:
            return self._known[presented]
        found = None
        for record in await self._load(key[:TOKEN_PREFIX_LENGTH]):
            if hashes_match(record.key_hash, presented):
                found = record
        if found is None and len(self._known) >= NEGATIVE_CACHE_LIMIT:
            self._known = {}
        self._known[presented] = found
        return found
