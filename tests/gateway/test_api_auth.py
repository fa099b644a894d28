"""The admin-key check every /api/ endpoint shares."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from core.crypto import keyed_hash
from tests.support.api import error_of
from tests.support.factories import make_admin_key, make_token
from tokens.models import ADMIN_KEY_PREFIX_LENGTH, AdminKey
from tokens.services import admin_key_revoke

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("get", "/api/channels"),
    ("post", "/api/channels"),
    ("get", "/api/channels/1"),
    ("patch", "/api/channels/1"),
    ("delete", "/api/channels/1"),
    ("post", "/api/channels/1/test"),
    ("get", "/api/tokens"),
    ("post", "/api/tokens"),
    ("get", "/api/tokens/1"),
    ("patch", "/api/tokens/1"),
    ("delete", "/api/tokens/1"),
]


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_it_rejects_a_missing_key(client: Client, method: str, url: str) -> None:
    response = getattr(client, method)(url, data={}, content_type="application/json")
    assert response.status_code == 401
    error = error_of(response)
    assert error["type"] == "authentication_error"
    assert error["code"] == "missing_api_key"
    assert "Authorization: Bearer" in error["message"]
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_it_rejects_an_invalid_key(client: Client, method: str, url: str, admin_key: str) -> None:
    wrong = admin_key[:-4] + ("aaaa" if not admin_key.endswith("aaaa") else "bbbb")
    response = getattr(client, method)(
        url, data={}, content_type="application/json", headers={"Authorization": f"Bearer {wrong}"}
    )
    assert response.status_code == 401
    error = error_of(response)
    assert error["code"] == "invalid_api_key"
    assert wrong not in response.content.decode()


def test_it_rejects_a_revoked_key(client: Client) -> None:
    admin_key, key = make_admin_key(name="ci")
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/channels", headers=headers).status_code == 200
    admin_key_revoke(admin_key=admin_key)
    response = client.get("/api/channels", headers=headers)
    assert response.status_code == 401
    assert error_of(response)["code"] == "invalid_api_key"


@pytest.mark.parametrize(
    "header",
    [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer   ",
        "sk-not-an-admin-key",
    ],
)
def test_it_rejects_other_authorization_headers(client: Client, header: str) -> None:
    response = client.get("/api/channels", headers={"Authorization": header})
    assert response.status_code == 401
    assert error_of(response)["type"] == "authentication_error"


def test_a_downstream_token_is_not_an_admin_key(client: Client, admin_key: str) -> None:
    _, token_key = make_token(name="user")
    # The worst case: an admin-key row that holds this very key's hash and prefix (as if the
    # secret had been stored in both tables). Only the key's kind may decide.
    AdminKey.objects.create(
        name="shadow", prefix=token_key[:ADMIN_KEY_PREFIX_LENGTH], key_hash=keyed_hash(token_key)
    )
    assert (
        client.get("/api/tokens", headers={"Authorization": f"Bearer {admin_key}"}).status_code
        == 200
    )

    response = client.get("/api/tokens", headers={"Authorization": f"Bearer {token_key}"})
    assert response.status_code == 401
    assert error_of(response)["code"] == "invalid_api_key"
    assert token_key not in response.content.decode()


def test_it_accepts_a_lowercase_scheme(client: Client, admin_key: str) -> None:
    response = client.get("/api/channels", headers={"Authorization": f"bearer {admin_key}"})
    assert response.status_code == 200


def test_it_records_last_use(client: Client) -> None:
    admin_key, key = make_admin_key(name="ci")
    assert admin_key.last_used_at is None
    client.get("/api/tokens", headers={"Authorization": f"Bearer {key}"})
    admin_key.refresh_from_db()
    assert admin_key.last_used_at is not None


def test_a_failed_attempt_does_not_touch_keys(client: Client, admin_key: str) -> None:
    client.get("/api/tokens", headers={"Authorization": "Bearer tga-wrong"})
    assert list(AdminKey.objects.values_list("last_used_at", flat=True)) == [None]


def test_it_needs_no_csrf_token(api: Client) -> None:
    # `api` enforces CSRF checks and sends no cookie or token: bearer auth alone is enough.
    response = api.post(
        "/api/tokens", data={"name": "from a script"}, content_type="application/json"
    )
    assert response.status_code == 201


def test_it_does_not_accept_a_session_login(client: Client, django_user_model: Any) -> None:
    # Not even a superuser's session: the API knows admin keys only.
    admin = django_user_model.objects.create_superuser(username="root", password="pw-12345678")
    client.force_login(admin)
    response = client.get("/api/channels")
    assert response.status_code == 401


def test_unknown_api_paths_answer_json_404(api: Client) -> None:
    for url in ("/api/nothing", "/api/channels/abc", "/api/channels/1/test/more", "/api/"):
        response = api.get(url)
        assert response.status_code == 404, url
        assert error_of(response)["code"] == "not_found"


def test_unknown_api_paths_still_need_a_key(client: Client) -> None:
    response = client.get("/api/nothing")
    assert response.status_code == 401
