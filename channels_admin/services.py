"""Writes to channels: validate, save, tell the relay and record who did it, in one transaction.

Every write takes the `actor` who made it (state passed in, never read from a request global)
and writes its audit event in the same transaction as the change, so both land or neither.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.services import SECRET_CHANGED, SYSTEM, Actor, audit_record, changed_fields
from channels_admin.models import Channel, ChannelStatus, ChannelType
from channels_admin.validation import (
    CHANNEL_FIELDS,
    clean_channel_data,
    mapping_errors,
    printable,
)
from core.crypto import decrypt_secret
from core.state import bump_relay_version

__all__ = [
    "CHANNEL_FIELDS",
    "channel_as_dict",
    "channel_auto_disable",
    "channel_copy",
    "channel_create",
    "channel_delete",
    "channel_record_test",
    "channel_record_test_all",
    "channel_update",
    "clean_channel_data",
    "mapping_errors",
]

OBJECT_TYPE = "channel"
# Attribute -> the name the API and the audit log use for it. The key is not here: it is
# recorded only as "changed".
_AUDITED = {
    "name": "name",
    "type": "type",
    "base_url": "base_url",
    "model_names": "models",
    "groups": "groups",
    "weight": "weight",
    "priority": "priority",
    "status": "status",
    "model_mapping": "model_mapping",
    "test_model": "test_model",
}
_STATUS_ACTIONS = {
    ChannelStatus.ENABLED: "enabled",
    ChannelStatus.DISABLED: "disabled",
    ChannelStatus.AUTO_DISABLED: "auto_disabled",
}


def _audited_state(channel: Channel) -> dict[str, Any]:
    state = {label: getattr(channel, attribute) for attribute, label in _AUDITED.items()}
    # An address saved before credentials were refused may hold a password.
    state["base_url"] = channel.display_url
    return state


def _record(
    channel: Channel,
    actor: Actor,
    action: str,
    *,
    changes: dict[str, Any] | None = None,
    detail: str = "",
) -> None:
    audit_record(
        actor=actor,
        action=action,
        object_type=OBJECT_TYPE,
        object_id=channel.pk,
        object_repr=channel.name,
        changes=changes,
        detail=printable(detail),
    )


def _key_digest(key_encrypted: str) -> str:
    # Compared, never stored: tells "the same key typed again" from a new one.
    try:
        return hashlib.sha256(decrypt_secret(key_encrypted).encode()).hexdigest()
    except ValueError:
        return key_encrypted


def _apply_status(channel: Channel, cleaned: dict[str, Any]) -> None:
    new_status = cleaned.get("status")
    if new_status is not None and new_status != channel.status:
        channel.status_changed_at = timezone.now()
        if new_status != ChannelStatus.AUTO_DISABLED:
            channel.status_reason = ""


@transaction.atomic
def channel_create(
    *,
    name: str,
    base_url: str,
    key: str,
    models: list[str],
    type: str = ChannelType.OPENAI,
    groups: list[str] | None = None,
    weight: int = 1,
    priority: int = 0,
    status: str = ChannelStatus.ENABLED,
    model_mapping: dict[str, str] | None = None,
    test_model: str = "",
    actor: Actor = SYSTEM,
) -> Channel:
    """Add a channel. Views and the API pass their `actor`; the default serves scripts."""
    cleaned = clean_channel_data(
        {
            "name": name,
            "type": type,
            "base_url": base_url,
            "key": key,
            "models": models,
            "groups": ["default"] if groups is None else groups,
            "weight": weight,
            "priority": priority,
            "status": status,
            "model_mapping": model_mapping or {},
            "test_model": test_model or "",
        },
        partial=False,
    )
    channel = Channel(**cleaned)
    if channel.status != ChannelStatus.ENABLED:
        channel.status_changed_at = timezone.now()
    channel.save()
    _record(channel, actor, "created", changes=changed_fields({}, _audited_state(channel)))
    bump_relay_version()
    return channel


@transaction.atomic
def channel_update(*, channel: Channel, changes: dict[str, Any], actor: Actor = SYSTEM) -> Channel:
    """Apply a partial change. An empty or missing key keeps the stored one, unless the
    address or type changes: then the key must be entered again.

    Views and the API pass their `actor`; the default serves scripts and test factories.
    """
    if changes.get("key") in ("", None):
        changes = {k: v for k, v in changes.items() if k != "key"}
    cleaned = clean_channel_data(changes, partial=True, channel=channel)
    before = _audited_state(channel)
    old_key = channel.key_encrypted
    _apply_status(channel, cleaned)
    for attribute, value in cleaned.items():
        setattr(channel, attribute, value)
    channel.save()

    diff = changed_fields(before, _audited_state(channel))
    status_change = diff.pop("status", None)
    if "key_encrypted" in cleaned and _key_digest(old_key) != _key_digest(channel.key_encrypted):
        diff["key"] = SECRET_CHANGED
    if diff:
        _record(channel, actor, "changed", changes=diff)
    if status_change is not None:
        _record(
            channel,
            actor,
            _STATUS_ACTIONS.get(channel.status, "changed"),
            changes={"status": status_change},
        )
    bump_relay_version()
    return channel


@transaction.atomic
def channel_delete(*, channel: Channel, actor: Actor) -> None:
    _record(channel, actor, "deleted")
    channel.delete()
    bump_relay_version()


@transaction.atomic
def channel_copy(*, channel: Channel, actor: Actor) -> Channel:
    copy = Channel.objects.get(pk=channel.pk)
    copy.pk = None
    copy.name = f"{channel.name} (copy)"[:100]
    copy.last_test_at = None
    copy.last_response_ms = None
    copy.save()
    _record(copy, actor, "copied", detail=f"Copied from channel {channel.pk} “{channel.name}”.")
    bump_relay_version()
    return copy


@transaction.atomic
def channel_auto_disable(*, channel_id: int, reason: str) -> bool:
    """Take a failing channel out of rotation; a passing test re-enables it.

    The gateway does this, not an admin: the audit event names the gateway as the actor.
    """
    reason = printable(reason)[:500]
    updated = Channel.objects.filter(pk=channel_id, status=ChannelStatus.ENABLED).update(
        status=ChannelStatus.AUTO_DISABLED,
        status_reason=reason,
        status_changed_at=timezone.now(),
    )
    if updated:
        name = Channel.objects.filter(pk=channel_id).values_list("name", flat=True).first()
        audit_record(
            actor=SYSTEM,
            action="auto_disabled",
            object_type=OBJECT_TYPE,
            object_id=channel_id,
            object_repr=name or "",
            changes={"status": [ChannelStatus.ENABLED.value, ChannelStatus.AUTO_DISABLED.value]},
            detail=reason,
        )
        bump_relay_version()
    return bool(updated)


@transaction.atomic
def channel_record_test(
    *,
    channel: Channel,
    ok: bool,
    latency_ms: int,
    actor: Actor,
    error: str | None = None,
    reached: bool = True,
) -> Channel:
    """Note a test's outcome; `reached=False` when it failed before any call (no model, no key).

    A pass re-enables an auto-disabled channel; a manually disabled one stays disabled.
    """
    if ok:
        detail = f"Passed in {latency_ms} ms."
    else:
        detail = f"Failed: {error or 'unknown error'}"
    _record(channel, actor, "tested", detail=detail)
    if not reached:
        return channel
    channel.last_test_at = timezone.now()
    channel.last_response_ms = latency_ms if ok else channel.last_response_ms
    fields = ["last_test_at", "last_response_ms", "updated_at"]
    if ok and channel.status == ChannelStatus.AUTO_DISABLED:
        channel.status = ChannelStatus.ENABLED
        channel.status_reason = ""
        channel.status_changed_at = channel.last_test_at
        fields += ["status", "status_reason", "status_changed_at"]
        _record(
            channel,
            actor,
            "enabled",
            changes={"status": [ChannelStatus.AUTO_DISABLED.value, ChannelStatus.ENABLED.value]},
            detail="A passing test put the channel back in rotation.",
        )
    channel.save(update_fields=fields)
    if "status" in fields:
        bump_relay_version()
    return channel


def channel_record_test_all(*, actor: Actor, scope: str, count: int) -> None:
    """One event for "Test all"; each channel's own test is recorded as it runs."""
    audit_record(
        actor=actor,
        action="test_all",
        object_type=OBJECT_TYPE,
        object_repr=f"{count} channels",
        detail=f"Scope: {scope}; {count} channels.",
    )


def channel_as_dict(channel: Channel) -> dict[str, Any]:
    """The JSON shape of a channel for the admin API: the key only ever masked."""
    return {
        "id": channel.pk,
        "name": channel.name,
        "type": channel.type,
        "base_url": channel.display_url,
        "key": channel.key_mask,
        "models": channel.model_names,
        "groups": channel.groups,
        "weight": channel.weight,
        "priority": channel.priority,
        "status": channel.status,
        "status_reason": channel.status_reason or None,
        "status_changed_at": _iso(channel.status_changed_at),
        "model_mapping": channel.model_mapping,
        "test_model": channel.effective_test_model,
        "last_test_at": _iso(channel.last_test_at),
        "last_response_ms": channel.last_response_ms,
        "created_at": _iso(channel.created_at),
        "updated_at": _iso(channel.updated_at),
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
