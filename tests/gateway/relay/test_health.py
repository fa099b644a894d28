from __future__ import annotations

import httpx
import pytest
from django.db import OperationalError

from gateway.relay import table, token_check, version
from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream
from tests.support.live_gateway import Gateway


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
    monkeypatch.setattr(version, "read_db_version", unreadable)
    monkeypatch.setattr(table, "load_routing_table", unreadable)

    response = httpx.get(gateway.url + "/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}


def test_the_relay_keeps_serving_from_its_last_table_when_the_database_goes(
    gateway: Gateway, upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_channel(upstream)
    key = make_token().key
    client = gateway.cached_client(key)
    client.chat.completions.create(model="gpt-4o-mini", messages=[])

    def unreadable() -> None:
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(version, "read_db_version", unreadable)
    monkeypatch.setattr(table, "load_routing_table", unreadable)

    reply = client.chat.completions.create(model="gpt-4o-mini", messages=[])

    assert reply.choices[0].message.content == "hello from upstream"
    assert httpx.get(gateway.url + "/healthz").status_code == 503


def test_an_unverifiable_token_is_a_503_not_a_500(
    gateway: Gateway, upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_channel(upstream)
    key = make_token().key
    httpx.get(gateway.url + "/healthz")  # the table is loaded

    def unreadable(prefix: str) -> None:
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(token_check, "load_token_records", unreadable)
    response = gateway.post_chat(key)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "gateway_unavailable"
