"""Writes to channels: save, tell the relay and record who did it, in one transaction.

Writes take values that are already clean (channels_admin.forms.ChannelForm is where channel
input is validated, for the pages and the API alike) and do not check them again. Every write
takes the `actor` who made it (state passed in, never read from a request global) and writes
its audit event in the same transaction as the change, so both land or neither.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.services import SECRET_CHANGED, SYSTEM, Actor, audit_record, changed_fields
from channels_admin.models import Channel, ChannelStatus, ChannelType
from channels_admin.validation import printable
from core.api import iso
from core.crypto import encrypt_secret, mask_secret
from core.state import bump_relay_version

OBJECT_TYPE = "channel"
# The most of a failed test's error kept on the channel (the upstream's message is cut at 1,000).
MAX_TEST_ERROR_CHARACTERS = 2000
# Attribute -> the name the API, the form and the audit log use for it. The key is not here:
# it is recorded only as "changed".
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
_STATUS_ACTIONS: dict[str, str] = {
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


def _stored_key(channel: Channel) -> str | None:
    try:
        return channel.api_key
    except ValueError:
        return None


def _set_key(channel: Channel, key: str) -> None:
    # The one place a key is encrypted: once per save.
    channel.key_encrypted = encrypt_secret(key)
    channel.key_mask = mask_secret(key)


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
    """Add a channel from clean values. Views and the API pass their `actor`; the default
    serves scripts."""
    channel = Channel(
        name=name,
        type=type,
        base_url=base_url,
        model_names=models,
        groups=["default"] if groups is None else groups,
        weight=weight,
        priority=priority,
        status=status,
        model_mapping=model_mapping or {},
        test_model=test_model,
    )
    _set_key(channel, key)
    if channel.status != ChannelStatus.ENABLED:
        channel.status_changed_at = timezone.now()
    channel.save()
    _record(channel, actor, "created", changes=changed_fields({}, _audited_state(channel)))
    bump_relay_version()
    return channel


@transaction.atomic
def channel_update(
    *, channel: Channel, changes: Mapping[str, Any], actor: Actor = SYSTEM
) -> Channel:
    """Apply clean `changes`, named as channel_create's arguments. A blank key keeps the
    stored one.

    Views and the API pass their `actor`; the default serves scripts and test factories.
    """
    changes = dict(changes)
    key = changes.pop("key", None) or None
    moved = "base_url" in changes and changes["base_url"] != channel.base_url
    retyped = "type" in changes and changes["type"] != channel.type
    if key is None and (moved or retyped):
        # ChannelForm refuses this with a message; a caller that skipped it must not send
        # the stored key to a new address either.
        raise ValueError("A new address or type needs the key again.")
    before = _audited_state(channel)
    key_changed = key is not None and key != _stored_key(channel)
    new_status = changes.get("status")
    if new_status is not None and new_status != channel.status:
        channel.status_changed_at = timezone.now()
        if new_status != ChannelStatus.AUTO_DISABLED:
            channel.status_reason = ""
    for name, value in changes.items():
        attribute = "model_names" if name == "models" else name
        if attribute not in _AUDITED:
            raise TypeError(f"channel_update() got an unknown change {name!r}")
        setattr(channel, attribute, value)
    if key is not None:
        _set_key(channel, key)
    channel.save()

    diff = changed_fields(before, _audited_state(channel))
    status_change = diff.pop("status", None)
    if key_changed:
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
    copy.last_test_ok = None
    copy.last_test_error = ""
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
    """Note a test's outcome on the channel: passed, or failed with the (sanitised) error.

    `reached=False` when it failed before any call (no model, no key): the outcome is kept,
    the response time is not. A pass re-enables an auto-disabled channel; a manually disabled
    one stays disabled.
    """
    if ok:
        detail = f"Passed in {latency_ms} ms."
    else:
        detail = f"Failed: {error or 'unknown error'}"
    _record(channel, actor, "tested", detail=detail)
    channel.last_test_at = timezone.now()
    channel.last_test_ok = ok
    channel.last_test_error = "" if ok else printable(error or "")[:MAX_TEST_ERROR_CHARACTERS]
    if ok and reached:
        channel.last_response_ms = latency_ms
    fields = ["last_test_at", "last_test_ok", "last_test_error", "last_response_ms", "updated_at"]
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
        "status_changed_at": iso(channel.status_changed_at),
        "model_mapping": channel.model_mapping,
        "test_model": channel.effective_test_model,
        "last_test_at": iso(channel.last_test_at),
        "last_response_ms": channel.last_response_ms,
        "created_at": iso(channel.created_at),
        "updated_at": iso(channel.updated_at),
    }
