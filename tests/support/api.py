"""Assertions shared by the JSON admin API tests."""

from __future__ import annotations

from typing import Any

from channels_admin.models import Channel
from core.models import RelayState
from tokens.models import Token


def db_snapshot() -> dict[str, Any]:
    """Everything a rejected request must leave untouched."""
    return {
        "channels": list(Channel.objects.order_by("pk").values()),
        "tokens": list(Token.objects.order_by("pk").values()),
        "relay_version": RelayState.objects.filter(pk=1).values_list("version", flat=True).first(),
    }


def error_of(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == "application/json"
    body: dict[str, dict[str, Any]] = response.json()
    assert set(body) == {"error"}
    return body["error"]
