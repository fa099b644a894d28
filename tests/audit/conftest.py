from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from audit.models import AuditEvent
from audit.services import Actor, audit_record
from tests.support.audit import ALICE, T0


@pytest.fixture
def record(db: None) -> Callable[..., AuditEvent]:
    """Write an event as the services do, then date it."""

    def make(
        *,
        at: dt.datetime = T0,
        actor: Actor = ALICE,
        action: str = "created",
        object_type: str = "channel",
        **fields: Any,
    ) -> AuditEvent:
        event = audit_record(actor=actor, action=action, object_type=object_type, **fields)
        AuditEvent.objects.filter(pk=event.pk).update(at=at)
        event.refresh_from_db()
        return event

    return make
