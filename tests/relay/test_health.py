from __future__ import annotations

import httpx
import pytest
from django.db import OperationalError

from gateway.relay import cache as cache_module
from tests.relay.conftest import Gateway


def test_it_reports_healthy(gateway: Gateway) -> None:
    response = httpx.get(gateway.url + "/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_it_reports_a_database_it_cannot_read(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreadable() -> None:
        raise OperationalError("database is locked")

    # Both reads the check may make: the version, and the channels when it moved.
    monkeypatch.setattr(cache_module, "_db_version", unreadable)
    monkeypatch.setattr(cache_module, "_load_routing_rows", unreadable)

    response = httpx.get(gateway.url + "/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}
