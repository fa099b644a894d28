"""Reads about an admin's second factor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice


def two_factor_enabled(user: Any) -> bool:
    """True once the user has confirmed a device: from then on sign-in needs a code."""
    return bool(user.is_authenticated) and user_has_device(user, confirmed=True)


def session_verified(user: Any) -> bool:
    """True once this session passed the second step with a code: django-otp's
    OTPMiddleware gives every request's user an `is_verified()`."""
    return bool(user.is_verified())


def authenticator(user: Any) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-id").first()


def pending_authenticator(user: Any) -> TOTPDevice | None:
    """The authenticator being set up: created, its code not yet confirmed."""
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()


def recovery_device(user: Any) -> StaticDevice | None:
    return StaticDevice.objects.filter(user=user, confirmed=True).order_by("-id").first()


def recovery_codes_left(user: Any) -> int:
    left: int = StaticToken.objects.filter(device__user=user, device__confirmed=True).count()
    return left


@dataclass(frozen=True, slots=True)
class TwoFactorStatus:
    enabled: bool
    added_at: datetime | None
    last_used_at: datetime | None
    recovery_codes_left: int


def two_factor_status(user: Any) -> TwoFactorStatus:
    device = authenticator(user)
    return TwoFactorStatus(
        enabled=two_factor_enabled(user),
        added_at=device.created_at if device else None,
        last_used_at=device.last_used_at if device else None,
        recovery_codes_left=recovery_codes_left(user),
    )
