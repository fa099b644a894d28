"""Personas and helpers for the two-factor tests: codes are computed as an authenticator would."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from django_otp.oath import hotp
from django_otp.plugins.otp_totp import models as totp_models
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from audit.services import Actor

PASSWORD = "correct horse battery staple"
SETUP_ACTOR = Actor("system", "tests")


# Mid-way through a 30-second step: a code computed here is the server's current one.
FROZEN_NOW = 1_800_000_015.0


class _FrozenClock:
    @staticmethod
    def time() -> float:
        return FROZEN_NOW


@pytest.fixture(autouse=True)
def _frozen_totp_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's TOTP clock stands still: no test can straddle a time step and flake.

    django-otp reads `time.time()` through its module's `time`; nothing else is affected
    (throttling and timestamps use Django's timezone.now()).
    """
    monkeypatch.setattr(totp_models, "time", _FrozenClock)


def code_for(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The code the user's phone shows now (or `steps_ahead` time steps later)."""
    step = int((FROZEN_NOW - device.t0) // device.step) + steps_ahead
    return f"{hotp(device.bin_key, step, digits=device.digits):0{device.digits}d}"


@dataclass
class Enrolled:
    device: TOTPDevice
    recovery_codes: list[str]

    def code(self, *, steps_ahead: int = 0) -> str:
        self.device.refresh_from_db()
        return code_for(self.device, steps_ahead=steps_ahead)


def enrol(user: Any) -> Enrolled:
    device = services.two_factor_begin(user=user)
    codes = services.two_factor_confirm(user=user, device=device, actor=SETUP_ACTOR)
    return Enrolled(device, codes)


@pytest.fixture(autouse=True)
def _clean_cache(settings: Any) -> Any:
    settings.REQUIRE_2FA = False
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def staff_user(db: None) -> Any:
    return get_user_model().objects.create_user(username="alice", password=PASSWORD, is_staff=True)


@pytest.fixture
def other_staff_user(db: None) -> Any:
    return get_user_model().objects.create_user(username="carol", password=PASSWORD, is_staff=True)


@pytest.fixture
def plain_user(db: None) -> Any:
    return get_user_model().objects.create_user(username="bob", password=PASSWORD)


@pytest.fixture
def staff_client(staff_user: Any) -> Client:
    """Signed in by password; alice has no second factor yet."""
    client = Client()
    client.force_login(staff_user)
    return client


@pytest.fixture
def plain_client(plain_user: Any) -> Client:
    client = Client()
    client.force_login(plain_user)
    return client


@pytest.fixture
def enrolled(staff_user: Any) -> Enrolled:
    return enrol(staff_user)


@pytest.fixture
def half_signed_in(staff_user: Any, enrolled: Enrolled) -> Client:
    """alice, enrolled, after the password step and before the code."""
    client = Client()
    response = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    return client


@pytest.fixture
def verified_client(half_signed_in: Client, enrolled: Enrolled) -> Client:
    """alice, enrolled and fully signed in (her authenticator's code entered)."""
    response = half_signed_in.post("/account/verify/", {"code": enrolled.code()})
    assert response.status_code == 302, response.content.decode()
    return half_signed_in
