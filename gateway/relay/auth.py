"""Who is calling: the bearer token, its cached record, and what it may do."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class TokenRecord:
    id: int
    key_hash: str
    group: str
    enabled: bool
    expires_at: float | None  # epoch seconds
    allowed_models: frozenset[str]  # empty: every model
    allowed_networks: tuple[IPNetwork, ...]  # empty: every address

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
    for name, value in headers:
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credentials.strip():
                return credentials.strip()
            return None
    return None
