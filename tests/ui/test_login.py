from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from gateway import forms as login_forms
from tests.ui.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _login(client: Client, username: str, password: str, **extra: Any) -> Any:
    return client.post("/login/", {"username": username, "password": password}, **extra)


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_it_shows_the_form() -> None:
    response = Client().get("/login/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="username"' in body
    assert 'name="password"' in body
    assert "csrfmiddlewaretoken" in body


def test_it_logs_staff_in_and_goes_to_the_overview(staff_user: Any) -> None:
    client = Client()
    response = _login(client, "alice", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert _logged_in(client)
    assert "Overview" in client.get("/").content.decode()


def test_it_follows_a_safe_next(staff_user: Any) -> None:
    client = Client()
    response = client.post(
        "/login/", {"username": "alice", "password": PASSWORD, "next": "/tokens/"}
    )
    assert response["Location"] == "/tokens/"


def test_it_ignores_an_offsite_next(staff_user: Any) -> None:
    client = Client()
    response = client.post(
        "/login/", {"username": "alice", "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_it_says_when_the_password_is_wrong(staff_user: Any) -> None:
    client = Client()
    response = _login(client, "alice", "wrong password")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert not _logged_in(client)


def test_it_refuses_a_non_staff_user(plain_user: Any) -> None:
    client = Client()
    response = _login(client, "bob", PASSWORD)
    assert response.status_code == 200
    assert "not an administrator" in response.content.decode()
    assert not _logged_in(client)


def test_it_refuses_an_inactive_staff_user(staff_user: Any) -> None:
    staff_user.is_active = False
    staff_user.save()
    client = Client()
    response = _login(client, "alice", PASSWORD)
    assert not _logged_in(client)
    assert "Please enter a correct username and password" in response.content.decode()


def test_it_throttles_after_five_failures_even_the_right_password(staff_user: Any) -> None:
    client = Client()
    for _ in range(4):
        response = _login(client, "alice", "nope")
        assert "Too many failed logins" not in response.content.decode()
    response = _login(client, "alice", "nope")
    assert response.status_code == 429
    assert "Too many failed logins. Try again in 15 minutes." in response.content.decode()

    response = _login(client, "alice", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert not _logged_in(client)


def test_the_throttle_ignores_username_case(staff_user: Any) -> None:
    client = Client()
    for name in ("alice", "ALICE", "Alice", "aLiCe", "alicE"):
        _login(client, name, "nope")
    assert _login(client, "alice", PASSWORD).status_code == 429


def test_the_throttle_is_per_client_ip(staff_user: Any) -> None:
    for _ in range(5):
        _login(Client(REMOTE_ADDR="10.0.0.1"), "alice", "nope")
    assert _login(Client(REMOTE_ADDR="10.0.0.1"), "alice", PASSWORD).status_code == 429
    other = Client(REMOTE_ADDR="10.0.0.2")
    assert _login(other, "alice", PASSWORD).status_code == 302
    assert _logged_in(other)


def test_the_throttle_lifts_when_the_window_passes(
    staff_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1_000_000.0]
    monkeypatch.setattr(login_forms, "_now", lambda: now[0])
    client = Client()
    for _ in range(5):
        _login(client, "alice", "nope")
    now[0] += 14 * 60
    response = _login(client, "alice", PASSWORD)
    assert response.status_code == 429
    assert "Try again in 1 minute." in response.content.decode()
    now[0] += 60
    assert _login(client, "alice", PASSWORD).status_code == 302
    assert _logged_in(client)


def test_a_success_clears_earlier_failures(staff_user: Any) -> None:
    client = Client()
    for _ in range(4):
        _login(client, "alice", "nope")
    assert _login(client, "alice", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        _login(client, "alice", "nope")
    assert _login(client, "alice", PASSWORD).status_code == 302


def test_a_non_staff_refusal_does_not_count_as_a_failure(plain_user: Any) -> None:
    client = Client()
    for _ in range(6):
        response = _login(client, "bob", PASSWORD)
        assert "not an administrator" in response.content.decode()


def test_it_does_not_trust_a_forwarded_for_header(staff_user: Any) -> None:
    for number in range(5):
        forged = {"X-Forwarded-For": f"198.51.100.{number}"}
        _login(Client(), "alice", "nope", headers=forged)
    forged = {"X-Forwarded-For": "198.51.100.99"}
    assert _login(Client(), "alice", PASSWORD, headers=forged).status_code == 429


def test_a_signed_in_admin_is_sent_on(staff_client: Client) -> None:
    response = staff_client.get("/login/")
    assert response.status_code == 302
    assert response["Location"] == "/"
