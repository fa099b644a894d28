"""One /v1 request as the relay forwards it to each channel it tries."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.relay.bodies import ParsedBody
from gateway.relay.dialects import client_dialect
from gateway.relay.metering import Meter


@dataclass(slots=True)
class Forward:
    method: str
    path: str  # the validated path after the base URL, e.g. "/chat/completions"
    query: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    parsed: ParsedBody
    model: str
    request_id: str
    hops: int  # gateways this request passed before this one
    meter: Meter | None = None  # notes attempts and usage for the request's usage record

    @property
    def dialect(self) -> str:
        """The API the client speaks (dialects.py): its answers and errors are in it."""
        return client_dialect(self.path)
