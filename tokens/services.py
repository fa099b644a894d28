"""Writes to downstream tokens and admin API keys.

They take clean values (tokens.forms checked them) and write, each in one transaction with
its audit event; they do not check input again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import transaction

from audit.services import SYSTEM, Actor, audit_record, changed_fields
from core.api import iso
from core.crypto import generate_key, hashes_match, keyed_hash
from core.money import format_money
from core.state import bump_relay_version
from tokens.models import (
    ADMIN_KEY_PREFIX,
    ADMIN_KEY_PREFIX_LENGTH,
    TOKEN_KEY_PREFIX,
    TOKEN_PREFIX_LENGTH,
    AdminKey,
    Token,
    TokenStatus,
)

TOKEN = "token"
ADMIN_KEY = "admin_key"
# The form's field names (the API's) that are stored under another attribute name.
_ATTRIBUTES = {"models": "allowed_models"}


def _audited(token: Token) -> dict[str, Any]:
    """What the audit log shows of a token: its settings, never its key or hash."""
    return {
        "name": token.name,
        "group": token.group,
        "status": token.status,
        "expires_at": iso(token.expires_at),
        "models": list(token.allowed_models),
        "allowed_ips": list(token.allowed_ips),
        "rpm_limit": token.rpm_limit,
        "tpm_limit": token.tpm_limit,
        # As the API writes money ("12.5"), so the log reads as what was typed; a zero
        # quota ("0") is a setting of its own, kept in the creation event.
        "quota_limit": format_money(token.quota_limit),
        "daily_budget": format_money(token.daily_budget),
        "monthly_budget": format_money(token.monthly_budget),
    }


def _record(
    key: Token | AdminKey, actor: Actor, action: str, changes: dict[str, Any] | None = None
) -> None:
    audit_record(
        actor=actor,
        action=action,
        object_type=TOKEN if isinstance(key, Token) else ADMIN_KEY,
        object_id=key.pk,
        object_repr=key.name_and_prefix,
        changes=changes,
    )


@transaction.atomic
def token_create(
    *,
    name: str,
    group: str = "default",
    expires_at: datetime | None = None,
    models: Sequence[str] = (),
    allowed_ips: Sequence[str] = (),
    status: str = TokenStatus.ENABLED,
    rpm_limit: int | None = None,
    tpm_limit: int | None = None,
    quota_limit: int | None = None,
    daily_budget: int | None = None,
    monthly_budget: int | None = None,
    actor: Actor = SYSTEM,
) -> tuple[Token, str]:
    """Returns the token and its key: the only moment the key exists in the clear.

    The quota and budgets are in core.money units (None: unlimited).

    `actor` defaults to the gateway itself for fixtures and scripts; pages, the admin API and
    commands always say who acted.
    """
    key = generate_key(TOKEN_KEY_PREFIX, 48)
    token = Token.objects.create(
        name=name,
        group=group,
        expires_at=expires_at,
        allowed_models=list(models),
        allowed_ips=list(allowed_ips),
        status=status,
        rpm_limit=rpm_limit,
        tpm_limit=tpm_limit,
        quota_limit=quota_limit,
        daily_budget=daily_budget,
        monthly_budget=monthly_budget,
        prefix=key[:TOKEN_PREFIX_LENGTH],
        key_hash=keyed_hash(key),
    )
    settings = {field: value for field, value in _audited(token).items() if value}
    _record(token, actor, "created", changed_fields({}, settings))
    bump_relay_version()
    return token, key


@transaction.atomic
def token_update(*, token: Token, changes: Mapping[str, Any], actor: Actor = SYSTEM) -> Token:
    """Apply `changes` (TokenForm's clean values by field name). A status change is its own
    "enabled"/"disabled" event (as for channels), so filtering the audit log by that action
    finds every one."""
    before = _audited(token)
    for field, value in changes.items():
        setattr(token, _ATTRIBUTES.get(field, field), value)
    token.save()
    changed = changed_fields(before, _audited(token))
    status_change = changed.pop("status", None)
    if changed:
        _record(token, actor, "changed", changed)
    if status_change is not None:
        action = "enabled" if token.status == TokenStatus.ENABLED else "disabled"
        _record(token, actor, action, {"status": status_change})
    bump_relay_version()
    return token


@transaction.atomic
def token_delete(*, token: Token, actor: Actor = SYSTEM) -> None:
    _record(token, actor, "deleted")
    token.delete()
    bump_relay_version()


@transaction.atomic
def admin_key_create(*, name: str, actor: Actor = SYSTEM) -> tuple[AdminKey, str]:
    """Returns the admin key and its key in the clear, as token_create does."""
    key = generate_key(ADMIN_KEY_PREFIX, 40)
    admin_key = AdminKey.objects.create(
        name=name, prefix=key[:ADMIN_KEY_PREFIX_LENGTH], key_hash=keyed_hash(key)
    )
    _record(admin_key, actor, "created")
    return admin_key, key


@transaction.atomic
def admin_key_revoke(*, admin_key: AdminKey, actor: Actor = SYSTEM) -> None:
    _record(admin_key, actor, "revoked")
    admin_key.delete()


def admin_key_find(key: str) -> AdminKey | None:
    if not key.startswith(ADMIN_KEY_PREFIX) or len(key) < ADMIN_KEY_PREFIX_LENGTH:
        return None
    presented = keyed_hash(key)
    for admin_key in AdminKey.objects.filter(prefix=key[:ADMIN_KEY_PREFIX_LENGTH]):
        if hashes_match(admin_key.key_hash, presented):
            return admin_key
    return None
