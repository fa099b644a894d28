"""GET /api/tokens"""

from __future__ import annotations

import pytest
from django.test import Client

from tests.support.api import error_of
from tests.support.factories import make_token

pytestmark = pytest.mark.django_db


def test_it_lists_nothing_at_first(api: Client) -> None:
    response = api.get("/api/tokens")
    assert response.status_code == 200
    assert response.json() == {"data": []}


def test_it_lists_tokens_newest_first_without_keys(api: Client) -> None:
    older, older_key = make_token(name="Older")
    newer, newer_key = make_token(name="Newer", group="vip", models=["gpt-4o"])
    response = api.get("/api/tokens")
    assert response.status_code == 200
    data = response.json()["data"]
    assert [item["id"] for item in data] == [newer.pk, older.pk]
    assert older_key.encode() not in response.content
    assert newer_key.encode() not in response.content
    assert all("key" not in item for item in data)
    assert data[0]["prefix"] == newer_key[:11] + "…"
    assert data[0]["group"] == "vip"
    assert data[0]["models"] == ["gpt-4o"]


def test_the_created_key_never_comes_back(api: Client) -> None:
    created = api.post("/api/tokens", data={"name": "Once"}, content_type="application/json")
    key = created.json()["key"]
    token_id = created.json()["id"]
    for url in ("/api/tokens", f"/api/tokens/{token_id}"):
        response = api.get(url)
        assert response.status_code == 200
        assert key.encode() not in response.content
        assert key[11:].encode() not in response.content


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_it_rejects_other_methods(api: Client, method: str) -> None:
    response = getattr(api, method)("/api/tokens", data={}, content_type="application/json")
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert response["Allow"] == "GET, POST"
