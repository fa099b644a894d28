from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from audit.models import AuditEvent
from audit.services import Actor, audit_record
from tokens.services import admin_key_create

PASSWORD = "correct horse battery staple"
ALICE = Actor("user", "alice", "192.0.2.7")
BOT = Actor("admin_key", "deploy bot (tg-ak-1234…)", "198.51.100.9")
T0 = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def staff_client(db: None) -> Client:
    client = Client()
    client.force_login(
        get_user_model().objects.create_user(username="alice", password=PASSWORD, is_staff=True)
    )
    return client


@pytest.fixture
def plain_client(db: None) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_user(username="bob", password=PASSWORD))
    return client


@pytest.fixture
def api(db: None) -> Client:
    _, key = admin_key_create(name="tests")
    # Creating the key is itself audited; the tests start from an empty log.
    AuditEvent.objects.all().delete()
    return Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {key}"})


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
