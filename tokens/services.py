"""Writes to downstream tokens and admin API keys."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from gateway.crypto import generate_key, hashes_match, keyed_hash
from gateway.state import bump_relay_version
from tokens.models import (
    ADMIN_KEY_PREFIX_LENGTH,
    TOKEN_PREFIX_LENGTH,
    AdminKey,
    Token,
    TokenStatus,
)

TOKEN_FIELDS = ("name", "group", "status", "expires_at", "models", "allowed_ips")


def _add(errors: dict[str, list[str]], field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def parse_expiry(value: Any) -> datetime | None:
    """ISO 8601 to an aware datetime; naive values are read in the server's time zone."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        parsed: datetime | None = value
    elif isinstance(value, str):
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
    else:
        parsed = None
    if parsed is None:
        raise ValueError(_("Enter an ISO 8601 date and time, e.g. 2027-01-31T23:59:00Z."))
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def clean_allowed_ips(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.replace("\n", ",").split(",")
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(_("Must be a list of IP addresses or CIDR ranges."))
    cleaned: list[str] = []
    for item in (item.strip() for item in value):
        if not item:
            continue
        try:
            network = ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(
                _("“%(value)s” is not an IP address or CIDR range.") % {"value": item}
            ) from None
        if str(network) not in cleaned:
            cleaned.append(str(network))
    return cleaned


def clean_token_data(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    for field in sorted(set(data) - set(TOKEN_FIELDS)):
        _add(errors, field, _("Unknown field."))
    if not partial and not data.get("name"):
        _add(errors, "name", _("This field is required."))
    cleaned: dict[str, Any] = {}

    if data.get("name") is not None and "name" not in errors:
        name = data["name"]
        if not isinstance(name, str) or not name.strip():
            _add(errors, "name", _("Must be a non-empty string."))
        elif len(name.strip()) > 100:
            _add(errors, "name", _("At most 100 characters."))
        else:
            cleaned["name"] = name.strip()

    if "group" in data:
        group = data["group"]
        if not isinstance(group, str) or not group.strip() or len(group.strip()) > 64:
            _add(errors, "group", _("Must be a non-empty string of at most 64 characters."))
        else:
            cleaned["group"] = group.strip()

    if "status" in data:
        if data["status"] not in TokenStatus.values:
            _add(
                errors,
                "status",
                _("Unknown status. Choose one of: %(choices)s.")
                % {"choices": ", ".join(TokenStatus.values)},
            )
        else:
            cleaned["status"] = data["status"]

    if "expires_at" in data:
        try:
            cleaned["expires_at"] = parse_expiry(data["expires_at"])
        except ValueError as exc:
            _add(errors, "expires_at", str(exc))

    if "models" in data:
        models = [] if data["models"] is None else data["models"]
        if isinstance(models, str):
            models = models.replace("\n", ",").split(",")
        if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
            _add(errors, "models", _("Must be a list of model names."))
        else:
            cleaned["allowed_models"] = list(dict.fromkeys(m.strip() for m in models if m.strip()))

    if "allowed_ips" in data:
        try:
            cleaned["allowed_ips"] = clean_allowed_ips(data["allowed_ips"] or [])
        except ValueError as exc:
            _add(errors, "allowed_ips", str(exc))

    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def token_create(
    *,
    name: str,
    group: str = "default",
    expires_at: Any = None,
    models: list[str] | None = None,
    allowed_ips: list[str] | None = None,
    status: str = TokenStatus.ENABLED,
) -> tuple[Token, str]:
    """Returns the token and its key: the only moment the key exists in the clear."""
    cleaned = clean_token_data(
        {
            "name": name,
            "group": group,
            "expires_at": expires_at,
            "models": models or [],
            "allowed_ips": allowed_ips or [],
            "status": status,
        },
        partial=False,
    )
    key = generate_key("sk-", 48)
    token = Token.objects.create(
        **cleaned, prefix=key[:TOKEN_PREFIX_LENGTH], key_hash=keyed_hash(key)
    )
    bump_relay_version()
    return token, key


@transaction.atomic
def token_update(*, token: Token, changes: dict[str, Any]) -> Token:
    cleaned = clean_token_data(changes, partial=True)
    for attribute, value in cleaned.items():
        setattr(token, attribute, value)
    token.save()
    bump_relay_version()
    return token


@transaction.atomic
def token_delete(*, token: Token) -> None:
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
def admin_key_create(*, name: str) -> tuple[AdminKey, str]:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError(
            {"name": [_("Must be a non-empty string of at most 100 characters.")]}
        )
    key = generate_key("tga-", 40)
    admin_key = AdminKey.objects.create(
        name=name, prefix=key[:ADMIN_KEY_PREFIX_LENGTH], key_hash=keyed_hash(key)
    )
    return admin_key, key


def admin_key_revoke(*, admin_key: AdminKey) -> None:
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
    return value.isoformat() if value is not None else None
