"""Writes to channels: validate, save and tell the relay, in one transaction."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from channels_admin.models import Channel, ChannelStatus, ChannelType
from gateway.crypto import encrypt_secret, mask_secret
from gateway.state import bump_relay_version

CHANNEL_FIELDS = (
    "name",
    "type",
    "base_url",
    "key",
    "models",
    "groups",
    "weight",
    "priority",
    "status",
    "model_mapping",
    "test_model",
)
_url_validator = URLValidator(schemes=["http", "https"])


class ChannelErrors:
    """Collects one list of messages per field, then raises them together."""

    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.by_field.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ValidationError(self.by_field)


def _clean_string_list(value: Any, field: str, errors: ChannelErrors) -> list[str] | None:
    if isinstance(value, str):
        value = value.replace("\n", ",").split(",")
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        errors.add(field, _("Must be a list of strings."))
        return None
    cleaned: list[str] = []
    for item in (item.strip() for item in value):
        if item and item not in cleaned:
            cleaned.append(item)
    if not cleaned:
        errors.add(field, _("At least one is required."))
        return None
    return cleaned


def _clean_int(value: Any, field: str, errors: ChannelErrors, *, minimum: int | None) -> int | None:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(field, _("Must be a whole number."))
        return None
    if minimum is not None and value < minimum:
        errors.add(field, _("Must be at least %(minimum)s.") % {"minimum": minimum})
        return None
    if abs(value) > 2**31 - 1:
        errors.add(field, _("Is too large."))
        return None
    return value


def mapping_errors(mapping: Any) -> list[str]:
    """Every problem with a model mapping, in words an admin can act on."""
    if not isinstance(mapping, dict):
        return [_("Must be a JSON object of requested name to upstream name.")]
    problems: list[str] = []
    for requested, upstream in mapping.items():
        if not isinstance(upstream, str):
            problems.append(_("“%(name)s” must map to a string.") % {"name": requested})
        elif not requested.strip() or not upstream.strip():
            problems.append(_("Names in a mapping cannot be empty."))
        elif requested != requested.strip() or upstream != upstream.strip():
            problems.append(
                _("“%(name)s”: names cannot start or end with spaces.")
                % {"name": requested.strip()}
            )
    if problems:
        return problems
    for start in mapping:
        seen = [start]
        current = mapping[start]
        while current in mapping:
            if current in seen:
                chain = " → ".join([*seen, current])
                return [_("The mapping has a cycle: %(chain)s.") % {"chain": chain}]
            seen.append(current)
            current = mapping[current]
    return []


def clean_channel_data(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """Validate API/form input; returns model attributes. Raises ValidationError per field."""
    errors = ChannelErrors()
    unknown = sorted(set(data) - set(CHANNEL_FIELDS))
    for field in unknown:
        errors.add(field, _("Unknown field."))
    if not partial:
        for field in ("name", "base_url", "key", "models"):
            if data.get(field) in (None, "", []):
                errors.add(field, _("This field is required."))
    cleaned: dict[str, Any] = {}

    if "name" in data and "name" not in errors.by_field:
        name = data["name"]
        if not isinstance(name, str) or not name.strip():
            errors.add("name", _("Must be a non-empty string."))
        elif len(name.strip()) > 100:
            errors.add("name", _("At most 100 characters."))
        else:
            cleaned["name"] = name.strip()

    if "type" in data:
        if data["type"] not in ChannelType.values:
            errors.add(
                "type",
                _("Unknown type. Choose one of: %(choices)s.")
                % {"choices": ", ".join(ChannelType.values)},
            )
        else:
            cleaned["type"] = data["type"]

    if "base_url" in data and "base_url" not in errors.by_field:
        url = data["base_url"]
        if not isinstance(url, str):
            errors.add("base_url", _("Must be a URL."))
        else:
            url = url.strip().rstrip("/")
            try:
                _url_validator(url)
            except ValidationError:
                errors.add("base_url", _("Enter an http:// or https:// URL."))
            else:
                cleaned["base_url"] = url

    if "key" in data and "key" not in errors.by_field:
        key = data["key"]
        if not isinstance(key, str) or not key.strip() or any(c.isspace() for c in key.strip()):
            errors.add("key", _("Must be a non-empty key without spaces."))
        else:
            cleaned["key_encrypted"] = encrypt_secret(key.strip())
            cleaned["key_mask"] = mask_secret(key.strip())

    if "models" in data and "models" not in errors.by_field:
        models = _clean_string_list(data["models"], "models", errors)
        if models is not None:
            cleaned["model_names"] = models

    if "groups" in data:
        groups = _clean_string_list(data["groups"], "groups", errors)
        if groups is not None:
            cleaned["groups"] = groups

    if "weight" in data:
        weight = _clean_int(data["weight"], "weight", errors, minimum=0)
        if weight is not None:
            cleaned["weight"] = weight

    if "priority" in data:
        priority = _clean_int(data["priority"], "priority", errors, minimum=None)
        if priority is not None:
            cleaned["priority"] = priority

    if "status" in data:
        if data["status"] not in ChannelStatus.values:
            errors.add(
                "status",
                _("Unknown status. Choose one of: %(choices)s.")
                % {"choices": ", ".join(ChannelStatus.values)},
            )
        else:
            cleaned["status"] = data["status"]

    if "model_mapping" in data:
        mapping = {} if data["model_mapping"] is None else data["model_mapping"]
        problems = mapping_errors(mapping)
        for problem in problems:
            errors.add("model_mapping", problem)
        if not problems:
            cleaned["model_mapping"] = mapping

    if "test_model" in data:
        test_model = data["test_model"] or ""
        if not isinstance(test_model, str):
            errors.add("test_model", _("Must be a string."))
        else:
            cleaned["test_model"] = test_model.strip()

    errors.raise_if_any()
    return cleaned


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
) -> Channel:
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
    bump_relay_version()
    return channel


@transaction.atomic
def channel_update(*, channel: Channel, changes: dict[str, Any]) -> Channel:
    """Apply a partial change. An empty or missing key keeps the stored one."""
    if changes.get("key") in ("", None):
        changes = {k: v for k, v in changes.items() if k != "key"}
    cleaned = clean_channel_data(changes, partial=True)
    _apply_status(channel, cleaned)
    for attribute, value in cleaned.items():
        setattr(channel, attribute, value)
    channel.save()
    bump_relay_version()
    return channel


@transaction.atomic
def channel_delete(*, channel: Channel) -> None:
    channel.delete()
    bump_relay_version()


@transaction.atomic
def channel_copy(*, channel: Channel) -> Channel:
    copy = Channel.objects.get(pk=channel.pk)
    copy.pk = None
    copy.name = f"{channel.name} (copy)"[:100]
    copy.last_test_at = None
    copy.last_response_ms = None
    copy.save()
    bump_relay_version()
    return copy


@transaction.atomic
def channel_auto_disable(*, channel_id: int, reason: str) -> bool:
    """Take a failing channel out of rotation; a passing test re-enables it."""
    updated = Channel.objects.filter(pk=channel_id, status=ChannelStatus.ENABLED).update(
        status=ChannelStatus.AUTO_DISABLED,
        status_reason=reason[:500],
        status_changed_at=timezone.now(),
    )
    if updated:
        bump_relay_version()
    return bool(updated)


@transaction.atomic
def channel_record_test(*, channel: Channel, ok: bool, latency_ms: int) -> Channel:
    channel.last_test_at = timezone.now()
    channel.last_response_ms = latency_ms if ok else channel.last_response_ms
    fields = ["last_test_at", "last_response_ms", "updated_at"]
    if ok and channel.status == ChannelStatus.AUTO_DISABLED:
        channel.status = ChannelStatus.ENABLED
        channel.status_reason = ""
        channel.status_changed_at = channel.last_test_at
        fields += ["status", "status_reason", "status_changed_at"]
    channel.save(update_fields=fields)
    if "status" in fields:
        bump_relay_version()
    return channel


def channel_as_dict(channel: Channel) -> dict[str, Any]:
    """The JSON shape of a channel for the admin API: the key only ever masked."""
    return {
        "id": channel.pk,
        "name": channel.name,
        "type": channel.type,
        "base_url": channel.base_url,
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
