"""Two-factor sign-in as the user's phone sees it: codes computed as an authenticator would.

The server's TOTP clock is frozen at FROZEN_NOW by tests/accounts/conftest.py, so a code
computed here is the one the server expects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django_otp.oath import hotp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from audit.services import Actor

SETUP_ACTOR = Actor("system", "tests")

# Mid-way through a 30-second step: a code computed here is the server's current one.
FROZEN_NOW = 1_800_000_015.0


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
