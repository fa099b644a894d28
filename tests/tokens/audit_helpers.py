"""Assertions on the audit events that token and admin key actions write."""

from __future__ import annotations

from typing import Any

from audit.models import AuditEvent


def assert_no_secret(event: AuditEvent, *secrets: str) -> None:
    """No part of a key or its hash is anywhere in the event: the prefix is all it may show."""
    values: dict[str, Any] = {
        field.name: getattr(event, field.name) for field in AuditEvent._meta.concrete_fields
    }
    text = repr(values)
    for secret in secrets:
        # The display prefix (13 characters at most) is allowed; anything past it is not.
        assert secret[13:] not in text
        assert secret[-16:] not in text


def only_event() -> AuditEvent:
    events = list(AuditEvent.objects.all())
    assert len(events) == 1, events
    return events[0]
