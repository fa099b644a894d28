"""A credential sent in a query string never reaches the access log of `make serve`."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.served import serving

pytestmark = pytest.mark.served

NAMES = ["api_key", "key", "api-key", "token", "access_token", "password", "secret", "sig", "code"]


def test_the_access_log_shows_no_credential_from_a_query_string(site: Path) -> None:
    canaries = {name: f"canary{index}x7Q2" for index, name in enumerate(NAMES)}
    with serving(site) as served:
        with httpx.Client(base_url=served.url, timeout=30) as client:
            assert client.get("/healthz?api_key=canary-api-key&probe=1").status_code == 200
            for name, canary in canaries.items():
                client.get("/v1/models", params={name: canary})
            client.get("/login/", params={"next": "/", "token": "canary-login"})
        log = served.stop()

    assert '"GET /healthz?api_key=[redacted]&probe=1 HTTP/1.1" 200' in log
    assert '"GET /login/?next=%2F&token=[redacted] HTTP/1.1" 200' in log
    for name in NAMES:
        assert f"/v1/models?{name}=[redacted] HTTP/1.1" in log
    assert "canary" not in log


def test_turned_off_it_writes_no_request_line(site: Path) -> None:
    with serving(site, TOLLGATE_ACCESS_LOG="0") as served:
        with httpx.Client(base_url=served.url, timeout=30) as client:
            assert client.get("/healthz?probe=off").status_code == 200
            assert client.get("/login/").status_code == 200
        log = served.stop()

    assert "GET /healthz" not in log
    assert "GET /login/" not in log
