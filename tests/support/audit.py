"""Audit log helpers: the one event a write leaves, and proof that it holds no secret."""

from __future__ import annotations

import datetime as dt
from typing import Any

from audit.models import AuditEvent
from audit.services import Actor

# Actors and a moment for events written straight into the log (tests/audit).
ALICE = Actor("user", "alice", "192.0.2.7")
BOT = Actor("admin_key", "deploy bot (tg-ak-1234…)", "198.51.100.9")
T0 = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


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
