"""The two-factor tests' clock and enrolled states (personas come from tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django_otp.plugins.otp_totp import models as totp_models

from tests.support.factories import PASSWORD
from tests.support.two_factor import FROZEN_NOW, Enrolled, enrol


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


@pytest.fixture
def enrolled(alice: Any) -> Enrolled:
    return enrol(alice)


@pytest.fixture
def half_signed_in(alice: Any, enrolled: Enrolled) -> Client:
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
