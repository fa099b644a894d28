"""Writes to channels: save, tell the relay and record who did it, in one transaction.

Writes take values that are already clean (channels_admin.forms.ChannelForm is where channel
input is validated, for the pages and the API alike) and do not check them again. Every write
takes the `actor` who made it (state passed in, never read from a request global) and writes
its audit event in the same transaction as the change, so both land or neither.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import SYSTEM, Actor, audit_record, changed_fields
from channels_admin import breaker
from channels_admin.models import (
    MAX_KEY_REASON,
    Channel,
    ChannelKey,
    ChannelStatus,
    ChannelType,
    KeyMode,
    KeyStatus,
)
from channels_admin.validation import printable
from core.api import iso
from core.crypto import encrypt_secret, mask_secret
from core.state import bump_relay_version

OBJECT_TYPE = "channel"
# The most of a failed test's error kept on the channel (the upstream's message is cut at 1,000).
MAX_TEST_ERROR_CHARACTERS = 2000
# Attribute -> the name the API, the form and the audit log use for it. The keys are not
# here: their changes are recorded by mask only (see _key_state).
_AUDITED = {
    "name": "name",
    "type": "type",
    "base_url": "base_url",
    "api_version": "api_version",
    "key_mode": "key_mode",
    "model_names": "models",
    "groups": "groups",
    "weight": "weight",
    "priority": "priority",
    "status": "status",
    "model_mapping": "model_mapping",
    "test_model": "test_model",
    "connect_timeout": "connect_timeout",
    "first_byte_timeout": "first_byte_timeout",
    "stream_idle_timeout": "stream_idle_timeout",
    "total_timeout": "total_timeout",
}
# The most of a reason (auto-disable, a model taken off) kept and shown.
MAX_REASON_CHARACTERS = 500
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


# What an automatic key refusal that leaves no key says on the channel.
EVERY_KEY_REFUSED = "every key was refused"


def _key_state(channel: Channel) -> list[str]:
    """The keys as the audit log shows them: index, mask and status, never the key."""
    return [
        f"#{key.index} {key.key_mask} {key.status}"
        for key in ChannelKey.objects.filter(channel=channel).order_by("index")
    ]


def _decrypted(key: ChannelKey) -> str | None:
    try:
        return key.plaintext
    except ValueError:
        return None


def _add_keys(channel: Channel, keys: list[str]) -> None:
    """Append `keys` (clean) to the saved `channel`, skipping any it already holds; each is
    encrypted once, here, and gets the next index (never a reused one)."""
    held = {_decrypted(key) for key in ChannelKey.objects.filter(channel=channel)}
    new = [key for key in dict.fromkeys(keys) if key not in held]
    if not new:
        return
    start = channel.next_key_index
    ChannelKey.objects.bulk_create(
        ChannelKey(
            channel=channel,
            index=start + offset,
            key_encrypted=encrypt_secret(key),
            key_mask=mask_secret(key),
        )
        for offset, key in enumerate(new)
    )
    channel.next_key_index = start + len(new)
    channel.save(update_fields=["next_key_index"])


def _replace_keys(channel: Channel, keys: list[str]) -> None:
    """Make `keys` the channel's keys: one given again keeps its index and is enabled again,
    the others are removed and the new ones appended."""
    wanted = set(keys)
    now = timezone.now()
    for row in ChannelKey.objects.filter(channel=channel):
        plaintext = _decrypted(row)
        if plaintext not in wanted:
            row.delete()
        elif row.status != KeyStatus.ENABLED:
            row.status, row.reason, row.changed_at = KeyStatus.ENABLED, "", now
            row.save(update_fields=["status", "reason", "changed_at"])
    _add_keys(channel, keys)


@transaction.atomic
def channel_create(
    *,
    name: str,
    base_url: str,
    models: list[str],
    key: str = "",
    keys: list[str] | None = None,
    type: str = ChannelType.OPENAI,
    api_version: str = "",
    key_mode: str = KeyMode.RANDOM,
    groups: list[str] | None = None,
    weight: int = 1,
    priority: int = 0,
    status: str = ChannelStatus.ENABLED,
    model_mapping: dict[str, str] | None = None,
    test_model: str = "",
    connect_timeout: float | None = None,
    first_byte_timeout: float | None = None,
    stream_idle_timeout: float | None = None,
    total_timeout: float | None = None,
    actor: Actor = SYSTEM,
) -> Channel:
    """Add a channel from clean values, with `keys` (or the one `key`). Views and the API pass
    their `actor`; the default serves scripts."""
    all_keys = list(keys or []) or ([key] if key else [])
    if not all_keys:
        raise ValueError("A channel needs at least one key.")
    channel = Channel(
        name=name,
        type=type,
        base_url=base_url,
        api_version=api_version,
        key_mode=key_mode,
        model_names=models,
        groups=["default"] if groups is None else groups,
        weight=weight,
        priority=priority,
        status=status,
        model_mapping=model_mapping or {},
        test_model=test_model,
        connect_timeout=connect_timeout,
        first_byte_timeout=first_byte_timeout,
        stream_idle_timeout=stream_idle_timeout,
        total_timeout=total_timeout,
    )
    if channel.status != ChannelStatus.ENABLED:
        channel.status_changed_at = timezone.now()
    if channel.status == ChannelStatus.AUTO_DISABLED:
        channel.next_probe_at = _first_probe_at(channel.status_changed_at)
    channel.save()
    _add_keys(channel, all_keys)
    created = changed_fields({}, _audited_state(channel))
    created["keys"] = [None, _key_state(channel)]
    _record(channel, actor, "created", changes=created)
    bump_relay_version()
    return channel


@transaction.atomic
def channel_update(
    *, channel: Channel, changes: Mapping[str, Any], actor: Actor = SYSTEM
) -> Channel:
    """Apply clean `changes`, named as channel_create's arguments. `keys` (or one `key`)
    replaces every key; `add_keys` appends; a blank or absent key keeps the stored ones.

    Views and the API pass their `actor`; the default serves scripts and test factories.
    """
    changes = dict(changes)
    key = changes.pop("key", None) or None
    replacing = list(changes.pop("keys", None) or []) or ([key] if key else [])
    adding = list(changes.pop("add_keys", None) or [])
    moved = "base_url" in changes and changes["base_url"] != channel.base_url
    retyped = "type" in changes and changes["type"] != channel.type
    if not replacing and (moved or retyped):
        # ChannelForm refuses this with a message; a caller that skipped it must not send
        # the stored keys to a new address either.
        raise ValueError("A new address or type needs the key again.")
    before = _audited_state(channel)
    keys_before = _key_state(channel)
    new_status = changes.get("status")
    status_changed = new_status is not None and new_status != channel.status
    if status_changed:
        channel.status_changed_at = timezone.now()
        if new_status != ChannelStatus.AUTO_DISABLED:
            channel.status_reason = ""
        _restart_health(channel, str(new_status))
    for name, value in changes.items():
        attribute = "model_names" if name == "models" else name
        if attribute not in _AUDITED:
            raise TypeError(f"channel_update() got an unknown change {name!r}")
        setattr(channel, attribute, value)
    channel.save()
    if replacing:
        _replace_keys(channel, replacing)
    if adding:
        _add_keys(channel, adding)
    if status_changed and new_status == ChannelStatus.ENABLED:
        breaker.reset(channel.pk)

    diff = changed_fields(before, _audited_state(channel))
    status_change = diff.pop("status", None)
    keys_after = _key_state(channel)
    if keys_after != keys_before:
        diff["keys"] = [keys_before, keys_after]
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
    # The breaker's count is the original's own; the copy starts its window afresh.
    copy.breaker_failures = 0
    copy.breaker_window_started_at = None
    copy.save()
    # The keys as they are, statuses and indexes included: the copy talks to the same account.
    ChannelKey.objects.bulk_create(
        ChannelKey(
            channel=copy,
            index=key.index,
            key_encrypted=key.key_encrypted,
            key_mask=key.key_mask,
            status=key.status,
            reason=key.reason,
            changed_at=key.changed_at,
        )
        for key in ChannelKey.objects.filter(channel_id=channel.pk)
    )
    _record(copy, actor, "copied", detail=f"Copied from channel {channel.pk} “{channel.name}”.")
    bump_relay_version()
    return copy


def _reason(text: str) -> str:
    return printable(text)[:MAX_REASON_CHARACTERS]


def _first_probe_at(disabled_at: datetime | None) -> datetime:
    return (disabled_at or timezone.now()) + timedelta(seconds=settings.PROBE_INTERVAL)


def _restart_health(channel: Channel, new_status: str) -> None:
    """An admin's status change starts the channel's health afresh: re-enabling gives every
    model another chance, and the prober's backoff starts over."""
    channel.probe_failures = 0
    channel.next_probe_at = None
    if new_status == ChannelStatus.ENABLED:
        channel.disabled_models = {}
    elif new_status == ChannelStatus.AUTO_DISABLED:
        channel.next_probe_at = _first_probe_at(channel.status_changed_at)


def _record_system(channel_id: int, action: str, *, changes: dict[str, Any], detail: str) -> None:
    name = Channel.objects.filter(pk=channel_id).values_list("name", flat=True).first()
    audit_record(
        actor=SYSTEM,
        action=action,
        object_type=OBJECT_TYPE,
        object_id=channel_id,
        object_repr=name or "",
        changes=changes,
        detail=detail,
    )


@transaction.atomic
def channel_auto_disable(*, channel_id: int, reason: str) -> bool:
    """Take a failing channel out of rotation until the prober (or a test) sees it pass.

    The gateway does this, not an admin: the audit event names the gateway as the actor.
    True if this call changed the status (an already disabled channel is left as it is).
    """
    reason = _reason(reason)
    now = timezone.now()
    updated = Channel.objects.filter(pk=channel_id, status=ChannelStatus.ENABLED).update(
        status=ChannelStatus.AUTO_DISABLED,
        status_reason=reason,
        status_changed_at=now,
        probe_failures=0,
        next_probe_at=_first_probe_at(now),
    )
    if updated:
        _record_system(
            channel_id,
            "auto_disabled",
            changes={"status": [ChannelStatus.ENABLED.value, ChannelStatus.AUTO_DISABLED.value]},
            detail=reason,
        )
        breaker.reset(channel_id)
        bump_relay_version()
    return bool(updated)


def _key_reason(text: str) -> str:
    return printable(text)[:MAX_KEY_REASON]


@transaction.atomic
def channel_key_disable(*, channel_id: int, index: int, reason: str) -> bool:
    """Take one refused key (401, 403, quota gone) out of rotation; the channel's other keys
    keep serving. The gateway does this (the audit event's actor); when no enabled key is
    left the channel is auto-disabled too, its reason EVERY_KEY_REFUSED and this key's. True
    if it changed
    anything (an already disabled or unknown key changes nothing)."""
    reason = _key_reason(reason)
    updated = ChannelKey.objects.filter(
        channel_id=channel_id, index=index, status=KeyStatus.ENABLED
    ).update(status=KeyStatus.DISABLED, reason=reason, changed_at=timezone.now())
    if not updated:
        return False
    mask = (
        ChannelKey.objects.filter(channel_id=channel_id, index=index)
        .values_list("key_mask", flat=True)
        .first()
    )
    _record_system(
        channel_id,
        "key_disabled",
        changes={f"key #{index}": [KeyStatus.ENABLED.value, KeyStatus.DISABLED.value]},
        detail=f"Key #{index} {mask or ''}: {reason}",
    )
    bump_relay_version()
    if not ChannelKey.objects.filter(channel_id=channel_id, status=KeyStatus.ENABLED).exists():
        channel_auto_disable(
            channel_id=channel_id, reason=f"{EVERY_KEY_REFUSED}; the last: {reason}"
        )
    return True


@transaction.atomic
def channel_key_enable(*, channel: Channel, index: int, actor: Actor) -> bool:
    """Put a disabled key back in rotation (an admin's doing). True if it was disabled."""
    updated = ChannelKey.objects.filter(
        channel=channel, index=index, status=KeyStatus.DISABLED
    ).update(status=KeyStatus.ENABLED, reason="", changed_at=timezone.now())
    if updated:
        _record(
            channel,
            actor,
            "key_enabled",
            changes={f"key #{index}": [KeyStatus.DISABLED.value, KeyStatus.ENABLED.value]},
        )
        bump_relay_version()
    return bool(updated)


class LastKeyError(ValueError):
    """The channel's only key cannot be removed: a channel always holds at least one."""


@transaction.atomic
def channel_key_remove(*, channel: Channel, index: int, actor: Actor) -> bool:
    """Delete one key. True if it existed; LastKeyError for the channel's only key."""
    rows = list(ChannelKey.objects.select_for_update().filter(channel=channel))
    found = next((row for row in rows if row.index == index), None)
    if found is None:
        return False
    if len(rows) == 1:
        raise LastKeyError("A channel needs at least one key.")
    found.delete()
    _record(
        channel,
        actor,
        "key_removed",
        changes={f"key #{index}": [found.key_mask, None]},
    )
    bump_relay_version()
    return True


def channel_note_failure(*, channel_id: int, reason: str, now: datetime | None = None) -> bool:
    """Count one failure (connection error, timeout, 5xx, garbage) in the breaker's window,
    shared by every process; the BREAKER_FAILURES-th within BREAKER_WINDOW seconds opens the
    circuit: the channel is auto-disabled with `reason` (the last error). True if this call
    opened it.

    Cheap when nothing trips: one Redis round trip (no database work), or one UPDATE of the
    channel's counter; the trip itself is channel_auto_disable's one transaction.
    `now` stands in for the clock of the database count (tests); Redis keeps its own time.
    """
    count = breaker.count_failure(channel_id, now or timezone.now())
    if count < settings.BREAKER_FAILURES:
        return False
    window = f"{settings.BREAKER_WINDOW:g}"
    return channel_auto_disable(
        channel_id=channel_id,
        reason=f"{count} failures within {window}s; the last: {_reason(reason)}",
    )


@transaction.atomic
def channel_disable_model(*, channel_id: int, model: str, reason: str) -> bool:
    """Take one model off one channel (the upstream says it does not serve it); the channel
    keeps serving its other models. `model` is the name clients call. True if it was new.

    Cleared when an admin re-enables the channel or a test of the channel passes.
    """
    model = _reason(model)[:200]
    channel = Channel.objects.select_for_update().filter(pk=channel_id).first()
    if channel is None or not model or model in (channel.disabled_models or {}):
        return False
    reason = _reason(reason)
    channel.disabled_models = {**(channel.disabled_models or {}), model: reason}
    channel.save(update_fields=["disabled_models", "updated_at"])
    _record_system(
        channel_id,
        "model_disabled",
        changes={"disabled_models": [None, model]},
        detail=f"{model}: {reason}",
    )
    bump_relay_version()
    return True


@transaction.atomic
def channel_cool_down(*, channel_id: int, until: datetime) -> bool:
    """Skip the channel until `until` (a 429's Retry-After): not disabled, back by itself.

    Only ever extends a cool-down already running. True if it changed.
    """
    updated = (
        Channel.objects.filter(pk=channel_id)
        .filter(Q(cooldown_until__isnull=True) | Q(cooldown_until__lt=until))
        .update(cooldown_until=until)
    )
    if updated:
        _record_system(
            channel_id,
            "cooled_down",
            changes={"cooldown_until": [None, iso(until)]},
            detail=f"Rate-limited by the upstream; skipped until {iso(until)}.",
        )
        bump_relay_version()
    return bool(updated)


@transaction.atomic
def channel_probe_failed(*, channel_id: int, now: datetime, error: str) -> datetime | None:
    """The prober's test of an auto-disabled channel failed: wait twice as long next time,
    up to PROBE_MAX_INTERVAL. The next probe's time, or None if the channel is no longer
    auto-disabled."""
    channel = (
        Channel.objects.select_for_update()
        .filter(pk=channel_id, status=ChannelStatus.AUTO_DISABLED)
        .first()
    )
    if channel is None:
        return None
    channel.probe_failures += 1
    delay = min(
        settings.PROBE_INTERVAL * 2 ** min(channel.probe_failures, 32),
        settings.PROBE_MAX_INTERVAL,
    )
    channel.next_probe_at = now + timedelta(seconds=delay)
    channel.save(update_fields=["probe_failures", "next_probe_at"])
    return channel.next_probe_at


@transaction.atomic
def channel_record_test(
    *,
    channel: Channel,
    ok: bool,
    latency_ms: int,
    actor: Actor,
    error: str | None = None,
    reached: bool = True,
    enabled_detail: str = "A passing test put the channel back in rotation.",
) -> Channel:
    """Note a test's outcome on the channel: passed, or failed with the (sanitised) error.

    `reached=False` when it failed before any call (no model, no key): the outcome is kept,
    the response time is not. A pass re-enables an auto-disabled channel (the "enabled" event
    says `enabled_detail`) and gives back the models taken off it; a manually disabled one
    stays disabled.
    """
    # The status now, not as loaded before the test: an admin may have disabled the channel
    # while it ran, and a pass must not undo that.
    current = (
        Channel.objects.select_for_update()
        .filter(pk=channel.pk)
        .values_list("status", "disabled_models")
        .first()
    )
    if current is not None:
        channel.status, channel.disabled_models = current
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
    relay_sees = False
    if ok and channel.disabled_models:
        # The channel answers again: each model taken off it gets another chance (the relay
        # takes one off again at its next "no such model").
        channel.disabled_models = {}
        fields.append("disabled_models")
        relay_sees = True
    if ok and channel.status == ChannelStatus.AUTO_DISABLED:
        channel.status = ChannelStatus.ENABLED
        channel.status_reason = ""
        channel.status_changed_at = channel.last_test_at
        channel.probe_failures = 0
        channel.next_probe_at = None
        fields += ["status", "status_reason", "status_changed_at", "probe_failures"]
        fields.append("next_probe_at")
        relay_sees = True
        _record(
            channel,
            actor,
            "enabled",
            changes={"status": [ChannelStatus.AUTO_DISABLED.value, ChannelStatus.ENABLED.value]},
            detail=enabled_detail,
        )
        breaker.reset(channel.pk)
    channel.save(update_fields=fields)
    if relay_sees:
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


def keys_as_list(channel: Channel) -> list[dict[str, Any]]:
    """The channel's keys as the admin API shows them: masked, with status and reason."""
    return [
        {"index": key.index, "mask": key.key_mask, "status": key.status, "reason": key.reason}
        for key in channel.key_list()
    ]


def channel_as_dict(channel: Channel) -> dict[str, Any]:
    """The JSON shape of a channel for the admin API: keys only ever masked."""
    keys = keys_as_list(channel)
    first = next((key for key in keys if key["status"] == KeyStatus.ENABLED), None)
    return {
        "id": channel.pk,
        "name": channel.name,
        "type": channel.type,
        "base_url": channel.display_url,
        "api_version": channel.api_version,
        # The first enabled key's mask, as answers showed it when a channel held one key.
        "key": first["mask"] if first else None,
        "keys": keys,
        "key_mode": channel.key_mode,
        "models": channel.model_names,
        "groups": channel.groups,
        "weight": channel.weight,
        "priority": channel.priority,
        "status": channel.status,
        "status_reason": channel.status_reason or None,
        "status_changed_at": iso(channel.status_changed_at),
        "model_mapping": channel.model_mapping,
        "test_model": channel.effective_test_model,
        "connect_timeout": channel.connect_timeout,
        "first_byte_timeout": channel.first_byte_timeout,
        "stream_idle_timeout": channel.stream_idle_timeout,
        "total_timeout": channel.total_timeout,
        "disabled_models": channel.disabled_models or {},
        "cooldown_until": iso(channel.cooling_until),
        "next_probe_at": iso(channel.next_probe_at),
        "last_test_at": iso(channel.last_test_at),
        "last_response_ms": channel.last_response_ms,
        "created_at": iso(channel.created_at),
        "updated_at": iso(channel.updated_at),
    }
