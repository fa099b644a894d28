"""Writes for two-factor sign-in: set up, confirm, recovery codes, turn off; each one audited.

Codes are checked by django-otp's devices (TOTP, and static tokens as recovery codes), whose
throttling locks a device for 1, 2, 4, ... seconds after each wrong code, across sessions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import django_otp
from django.db import transaction
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.selectors import authenticator, recovery_device
from audit.services import Actor, audit_record

RECOVERY_CODE_COUNT = 10
AUTHENTICATOR_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"

# Audit actions, object type "user".
TWO_FACTOR_ENABLED = "two_factor_enabled"
TWO_FACTOR_DISABLED = "two_factor_disabled"
RECOVERY_CODES_REGENERATED = "recovery_codes_regenerated"
SIGNED_IN = "signed_in"
SECOND_STEP_FAILED = "sign_in_code_refused"

AUTHENTICATOR_CODE = re.compile(r"\d{6}")
# django-otp's static tokens: 8 characters of lower-case base32.
RECOVERY_CODE = re.compile(r"[a-z2-7]{8}")


class CodeKind:
    AUTHENTICATOR = "authenticator"
    RECOVERY = "recovery"
    MALFORMED = "malformed"


@dataclass(frozen=True, slots=True)
class CodeCheck:
    """What became of one code: the device that took it, or why none did."""

    kind: str
    device: Device | None = None
    # Set when the device is locked after wrong codes: this code was not even looked at.
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.device is not None

    @property
    def wrong(self) -> bool:
        """A well-formed code, looked at and refused (not one turned away by a lock)."""
        return self.device is None and self.locked_until is None and self.kind != CodeKind.MALFORMED


def normalize_code(raw: str) -> str:
    """Spaces and dashes are for reading only: `123 456` and `abcd-efgh` count as typed."""
    return re.sub(r"[\s-]", "", raw).lower()


def format_recovery_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def _check(user: Any, device: Device | None, code: str, kind: str) -> CodeCheck:
    if device is None:
        return CodeCheck(kind)
    allowed, info = device.verify_is_allowed()
    if not allowed:
        return CodeCheck(kind, locked_until=(info or {}).get("locked_until"))
    # verify_token locks the device row, so two requests cannot spend one code twice.
    return CodeCheck(kind, django_otp.verify_token(user, device.persistent_id, code))


def check_code(user: Any, raw_code: str) -> CodeCheck:
    """A code from the user's authenticator app (6 digits) or one of their recovery codes."""
    code = normalize_code(raw_code)
    if AUTHENTICATOR_CODE.fullmatch(code):
        return _check(user, authenticator(user), code, CodeKind.AUTHENTICATOR)
    if RECOVERY_CODE.fullmatch(code):
        return _check(user, recovery_device(user), code, CodeKind.RECOVERY)
    return CodeCheck(CodeKind.MALFORMED)


def check_setup_code(user: Any, device: TOTPDevice, raw_code: str) -> CodeCheck:
    """The first code of an authenticator being set up, which proves it was added."""
    code = normalize_code(raw_code)
    if device.user_id != user.pk or not AUTHENTICATOR_CODE.fullmatch(code):
        return CodeCheck(CodeKind.MALFORMED)
    return _check(user, device, code, CodeKind.AUTHENTICATOR)


@transaction.atomic
def two_factor_begin(*, user: Any) -> TOTPDevice:
    """A new secret for an authenticator app, unconfirmed until its first code is entered.

    An earlier unfinished setup is dropped; a confirmed authenticator stays in force until
    the new one is confirmed.
    """
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)


def _new_recovery_codes(user: Any) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes: set[str] = set()
    while len(codes) < RECOVERY_CODE_COUNT:
        codes.add(StaticToken.random_token())
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return sorted(codes)


def _audit(actor: Actor, action: str, user: Any, detail: str = "") -> None:
    audit_record(
        actor=actor,
        action=action,
        object_type="user",
        object_id=user.pk,
        object_repr=user.get_username(),
        detail=detail,
    )


@transaction.atomic
def two_factor_confirm(*, user: Any, device: TOTPDevice, actor: Actor) -> list[str]:
    """Turn a checked setup into the user's authenticator; returns fresh recovery codes.

    The caller has checked a code from `device` (check_setup_code). Any earlier authenticator
    and recovery codes are replaced.
    """
    replaced = TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk)
    had_one = replaced.exists()
    replaced.delete()
    TOTPDevice.objects.filter(pk=device.pk, user=user).update(confirmed=True)
    device.confirmed = True
    codes = _new_recovery_codes(user)
    _audit(actor, TWO_FACTOR_ENABLED, user, "replaced the authenticator app" if had_one else "")
    return codes


@transaction.atomic
def recovery_codes_regenerate(*, user: Any, actor: Actor) -> list[str]:
    """New recovery codes; the old ones stop working at once."""
    codes = _new_recovery_codes(user)
    _audit(actor, RECOVERY_CODES_REGENERATED, user)
    return codes


@transaction.atomic
def two_factor_disable(*, user: Any, actor: Actor) -> None:
    """Remove the authenticator and the recovery codes: sign-in takes a password only."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    _audit(actor, TWO_FACTOR_DISABLED, user)


def record_sign_in(*, user: Any, actor: Actor, method: str) -> None:
    _audit(actor, SIGNED_IN, user, method)


def record_refused_code(*, user: Any, actor: Actor, kind: str) -> None:
    """A wrong second-step code: its password was right, so this is worth an admin's look."""
    _audit(actor, SECOND_STEP_FAILED, user, f"wrong {kind} code")
