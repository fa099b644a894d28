from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from gateway import login_throttle
from gateway.login_throttle import LoginThrottle
from tests.support.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _login(client: Client, username: str, password: str, **extra: Any) -> Any:
    return client.post("/login/", {"username": username, "password": password}, **extra)


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _error_text(page: str) -> str:
    """The form's error note, without the fields (which echo the username back)."""
    start = page.index("Please enter a correct username and password")
    return page[start : page.index("<", start)]


def test_it_shows_the_form() -> None:
    response = Client().get("/login/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="username"' in body
    assert 'name="password"' in body
    assert "csrfmiddlewaretoken" in body


def test_it_logs_staff_in_and_goes_to_the_overview(alice: Any) -> None:
    client = Client()
    response = _login(client, "alice", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert _logged_in(client)
    assert "Dashboard" in client.get("/").content.decode()


def test_it_follows_a_safe_next(alice: Any) -> None:
    client = Client()
    response = client.post(
        "/login/", {"username": "alice", "password": PASSWORD, "next": "/tokens/"}
    )
    assert response["Location"] == "/tokens/"


def test_it_ignores_an_offsite_next(alice: Any) -> None:
    client = Client()
    response = client.post(
        "/login/", {"username": "alice", "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_it_says_when_the_password_is_wrong(alice: Any) -> None:
    client = Client()
    response = _login(client, "alice", "wrong password")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert not _logged_in(client)


def test_it_refuses_a_non_staff_user_as_if_the_password_were_wrong(bob: Any) -> None:
    client = Client()
    right = _login(client, "bob", PASSWORD).content.decode()
    wrong = _login(client, "bob", "wrong password").content.decode()
    assert "Please enter a correct username and password" in right
    assert "not an administrator" not in right
    assert _error_text(right) == _error_text(wrong)
    assert not _logged_in(client)


def test_it_refuses_an_inactive_staff_user(alice: Any) -> None:
    alice.is_active = False
    alice.save()
    client = Client()
    response = _login(client, "alice", PASSWORD)
    assert not _logged_in(client)
    assert "Please enter a correct username and password" in response.content.decode()


def test_it_throttles_after_five_failures_even_the_right_password(alice: Any) -> None:
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


def test_the_throttle_ignores_username_case(alice: Any) -> None:
    client = Client()
    for name in ("alice", "ALICE", "Alice", "aLiCe", "alicE"):
        _login(client, name, "nope")
    assert _login(client, "alice", PASSWORD).status_code == 429


def test_the_throttle_is_per_client_ip(alice: Any) -> None:
    for _ in range(5):
        _login(Client(REMOTE_ADDR="10.0.0.1"), "alice", "nope")
    assert _login(Client(REMOTE_ADDR="10.0.0.1"), "alice", PASSWORD).status_code == 429
    other = Client(REMOTE_ADDR="10.0.0.2")
    assert _login(other, "alice", PASSWORD).status_code == 302
    assert _logged_in(other)


def test_the_throttle_lifts_when_the_window_passes(
    alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1_000_000.0]
    monkeypatch.setattr(login_throttle, "_now", lambda: now[0])
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


def test_a_success_clears_earlier_failures(alice: Any) -> None:
    client = Client()
    for _ in range(4):
        _login(client, "alice", "nope")
    assert _login(client, "alice", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        _login(client, "alice", "nope")
    assert _login(client, "alice", PASSWORD).status_code == 302


def test_a_non_staff_sign_in_counts_as_a_failure(bob: Any) -> None:
    client = Client()
    for _ in range(4):
        assert _login(client, "bob", PASSWORD).status_code == 200
    assert _login(client, "bob", PASSWORD).status_code == 429


def test_it_does_not_trust_a_forwarded_for_header(alice: Any) -> None:
    for number in range(5):
        forged = {"X-Forwarded-For": f"198.51.100.{number}"}
        _login(Client(), "alice", "nope", headers=forged)
    forged = {"X-Forwarded-For": "198.51.100.99"}
    assert _login(Client(), "alice", PASSWORD, headers=forged).status_code == 429


def test_a_signed_in_admin_is_sent_on(staff_client: Client) -> None:
    response = staff_client.get("/login/")
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_spraying_many_usernames_from_one_address_is_throttled(alice: Any) -> None:
    for number in range(20):
        response = _login(Client(REMOTE_ADDR="10.0.0.1"), f"user{number}", "guess")
        assert response.status_code == (429 if number == 19 else 200)
    refused = _login(Client(REMOTE_ADDR="10.0.0.1"), "alice", PASSWORD)
    assert refused.status_code == 429
    assert "Too many failed logins. Try again in 15 minutes." in refused.content.decode()
    elsewhere = Client(REMOTE_ADDR="10.0.0.2")
    assert _login(elsewhere, "alice", PASSWORD).status_code == 302
    assert _logged_in(elsewhere)


def test_an_ipv6_sprayer_cannot_rotate_addresses_within_its_64(alice: Any, settings: Any) -> None:
    settings.LOGIN_FAILURES_PER_ADDRESS = 3
    for number in range(3):
        _login(Client(REMOTE_ADDR=f"2001:db8:1:2::{number + 1:x}"), f"user{number}", "guess")
    assert _login(Client(REMOTE_ADDR="2001:db8:1:2::ff"), "alice", PASSWORD).status_code == 429
    assert _login(Client(REMOTE_ADDR="2001:db8:1:3::1"), "alice", PASSWORD).status_code == 302


def test_the_global_limit_holds_across_addresses(alice: Any, settings: Any) -> None:
    settings.LOGIN_FAILURES_GLOBAL = 6
    for number in range(6):
        _login(Client(REMOTE_ADDR=f"192.0.2.{number}"), f"user{number}", "guess")
    fresh = Client(REMOTE_ADDR="198.51.100.1")
    response = _login(fresh, "alice", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert not _logged_in(fresh)


def test_refused_attempts_do_not_use_up_the_global_limit(alice: Any, settings: Any) -> None:
    settings.LOGIN_FAILURES_GLOBAL = 10
    locked = Client(REMOTE_ADDR="10.0.0.1")
    for _ in range(5):
        _login(locked, "alice", "nope")
    for _ in range(30):
        assert _login(locked, "alice", "nope").status_code == 429
    assert _login(Client(REMOTE_ADDR="10.0.0.2"), "alice", PASSWORD).status_code == 302


def test_good_logins_do_not_use_up_the_address_limit(alice: Any, settings: Any) -> None:
    settings.LOGIN_FAILURES_PER_ADDRESS = 3
    for _ in range(6):
        client = Client(REMOTE_ADDR="10.0.0.1")
        assert _login(client, "alice", PASSWORD).status_code == 302


def test_an_attempt_counts_before_its_password_is_checked(alice: Any) -> None:
    # Five guesses in flight at once take the five places; a sixth parallel one is refused
    # before its password is even looked at.
    for _ in range(5):
        assert LoginThrottle("alice", "10.0.0.1").begin_attempt() == 0
    assert LoginThrottle("alice", "10.0.0.1").begin_attempt() > 0
    assert _login(Client(REMOTE_ADDR="10.0.0.1"), "alice", PASSWORD).status_code == 429


def test_an_empty_password_is_not_counted(alice: Any) -> None:
    client = Client()
    for _ in range(10):
        assert _login(client, "alice", "").status_code == 200
    assert _login(client, "alice", PASSWORD).status_code == 302
