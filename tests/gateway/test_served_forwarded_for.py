"""X-Forwarded-For from loopback is not believed unless the admin names the proxy."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.served import ADMIN_PASSWORD, ADMIN_USER, serving

pytestmark = pytest.mark.served

# Fewer real password hashes to wait for; the rule is the same at 5.
TWO_FAILURES = {"TOLLGATE_LOGIN_FAILURES_PER_ACCOUNT": "2"}


def _login(client: httpx.Client, password: str, forwarded_for: str) -> int:
    client.get("/login/")
    response = client.post(
        "/login/",
        data={
            "username": ADMIN_USER,
            "password": password,
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
        headers={"X-Forwarded-For": forwarded_for},
    )
    return response.status_code


def _spray_then_sign_in(url: str) -> list[int]:
    """Two wrong passwords, each claiming a new address; then the right one from another."""
    with httpx.Client(base_url=url, timeout=30) as client:
        statuses = [_login(client, "wrong password", f"198.51.100.{n}") for n in range(2)]
        return [*statuses, _login(client, ADMIN_PASSWORD, "198.51.100.99")]


def test_by_default_a_forwarded_address_from_loopback_is_ignored(site: Path) -> None:
    with serving(site, **TWO_FAILURES) as served:
        # Counted against the real peer, 127.0.0.1: the second failure locks the account.
        assert _spray_then_sign_in(served.url) == [200, 429, 429]


def test_a_named_proxy_is_believed(site: Path) -> None:
    with serving(site, TOLLGATE_TRUSTED_PROXIES="127.0.0.1", **TWO_FAILURES) as served:
        # Each attempt came from a different client behind the proxy: none is throttled.
        assert _spray_then_sign_in(served.url) == [200, 200, 302]
