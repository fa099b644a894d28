"""Writes to downstream tokens and admin API keys."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import transaction

from audit.services import SYSTEM, Actor, audit_record, changed_fields
from core.crypto import generate_key, hashes_match, keyed_hash
from core.state import bump_relay_version
from tokens.models import (
    ADMIN_KEY_PREFIX_LENGTH,
    TOKEN_PREFIX_LENGTH,
    AdminKey,
    Token,
    TokenStatus,
)
from tokens.validation import clean_admin_key_name, clean_token_data

TOKEN = "token"
ADMIN_KEY = "admin_key"


def _audited(token: Token) -> dict[str, Any]:
    """What the audit log shows of a token: its settings, never its key or hash."""
    return {
        "name": token.name,
        "group": token.group,
        "status": token.status,
        "expires_at": _iso(token.expires_at),
        "models": list(token.allowed_models),
        "allowed_ips": list(token.allowed_ips),
    }


def _token_repr(token: Token) -> str:
    return f"{token.name} ({token.display_prefix})"


@transaction.atomic
def token_create(
    *,
    name: str,
    group: str = "default",
    expires_at: Any = None,
    models: list[str] | None = None,
    allowed_ips: list[str] | None = None,
    status: str = TokenStatus.ENABLED,
    actor: Actor = SYSTEM,
) -> tuple[Token, str]:
    """Returns the token and its key: the only moment the key exists in the clear.

    `actor` defaults to the gateway itself for fixtures and scripts; pages, the admin API and
    commands always say who acted.
    """
    cleaned = clean_token_data(
        {
            "name": name,
            "group": group,
            "expires_at": expires_at,
            "models": [] if models is None else models,
            "allowed_ips": [] if allowed_ips is None else allowed_ips,
            "status": status,
        },
        partial=False,
    )
    key = generate_key("sk-", 48)
    token = Token.objects.create(
        **cleaned, prefix=key[:TOKEN_PREFIX_LENGTH], key_hash=keyed_hash(key)
    )
    settings = {field: value for field, value in _audited(token).items() if value}
    audit_record(
        actor=actor,
        action="created",
        object_type=TOKEN,
        object_id=token.pk,
        object_repr=_token_repr(token),
        changes=changed_fields({}, settings),
    )
    bump_relay_version()
    return token, key


def _record_token(token: Token, actor: Actor, action: str, changes: dict[str, Any]) -> None:
    audit_record(
        actor=actor,
        action=action,
        object_type=TOKEN,
        object_id=token.pk,
        object_repr=_token_repr(token),
        changes=changes,
    )


@transaction.atomic
def token_update(*, token: Token, changes: dict[str, Any], actor: Actor = SYSTEM) -> Token:
    """Apply `changes`. A status change is its own "enabled"/"disabled" event (as for
    channels), so filtering the audit log by that action finds every one."""
    cleaned = clean_token_data(changes, partial=True)
    before = _audited(token)
    for attribute, value in cleaned.items():
        setattr(token, attribute, value)
    token.save()
    changed = changed_fields(before, _audited(token))
    status_change = changed.pop("status", None)
    if changed:
        _record_token(token, actor, "changed", changed)
    if status_change is not None:
        action = "enabled" if token.status == TokenStatus.ENABLED else "disabled"
        _record_token(token, actor, action, {"status": status_change})
    bump_relay_version()
    return token


@transaction.atomic
def token_delete(*, token: Token, actor: Actor = SYSTEM) -> None:
    audit_record(
        actor=actor,
        action="deleted",
        object_type=TOKEN,
        object_id=token.pk,
        object_repr=_token_repr(token),
    )
    token.delete()
    bump_relay_version()


def token_find(key: str) -> Token | None:
    """The token a presented key belongs to, by prefix then a constant-time hash compare."""
    if not key.startswith("sk-") or len(key) < TOKEN_PREFIX_LENGTH:
        return None
    presented = keyed_hash(key)
    for token in Token.objects.filter(prefix=key[:TOKEN_PREFIX_LENGTH]):
        if hashes_match(token.key_hash, presented):
            return token
    return None


def token_as_dict(token: Token) -> dict[str, Any]:
    return {
        "id": token.pk,
        "name": token.name,
        "group": token.group,
        "status": token.status,
        "expires_at": _iso(token.expires_at),
        "models": token.allowed_models,
        "allowed_ips": token.allowed_ips,
        "prefix": token.display_prefix,
        "created_at": _iso(token.created_at),
        "updated_at": _iso(token.updated_at),
        "last_used_at": _iso(token.last_used_at),
    }


@transaction.atomic
def admin_key_create(*, name: str, actor: Actor = SYSTEM) -> tuple[AdminKey, str]:
    name = clean_admin_key_name(name)
    key = generate_key("tga-", 40)
    admin_key = AdminKey.objects.create(
        name=name, prefix=key[:ADMIN_KEY_PREFIX_LENGTH], key_hash=keyed_hash(key)
    )
    audit_record(
        actor=actor,
        action="created",
        object_type=ADMIN_KEY,
        object_id=admin_key.pk,
        object_repr=f"{admin_key.name} ({admin_key.display_prefix})",
    )
    return admin_key, key


@transaction.atomic
def admin_key_revoke(*, admin_key: AdminKey, actor: Actor = SYSTEM) -> None:
    audit_record(
        actor=actor,
        action="revoked",
        object_type=ADMIN_KEY,
        object_id=admin_key.pk,
        object_repr=f"{admin_key.name} ({admin_key.display_prefix})",
    )
    admin_key.delete()


def admin_key_find(key: str) -> AdminKey | None:
    if not key.startswith("tga-") or len(key) < ADMIN_KEY_PREFIX_LENGTH:
        return None
    presented = keyed_hash(key)
    for admin_key in AdminKey.objects.filter(prefix=key[:ADMIN_KEY_PREFIX_LENGTH]):
        if hashes_match(admin_key.key_hash, presented):
            return admin_key
    return None


def _iso(value: datetime | None) -> str | None:
    # In UTC, so the same instant always reads the same, whatever offset it was entered with.
    return value.astimezone(UTC).isoformat() if value is not None else None
