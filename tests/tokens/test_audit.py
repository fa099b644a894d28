"""Every token and admin key write leaves one audit event naming who acted, never the key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from audit.models import AuditEvent
from audit.services import SYSTEM
from tests.support.audit import ALICE, assert_no_secret, only_event
from tokens import services
from tokens.models import AdminKey, Token

pytestmark = pytest.mark.django_db


def test_creating_a_token_logs_its_settings_and_prefix() -> None:
    token, key = services.token_create(
        name="Team A",
        group="vip",
        models=["gpt-4o"],
        allowed_ips=["10.0.0.1/32"],
        expires_at=datetime(2031, 1, 1, tzinfo=timezone(timedelta(hours=2))),
        actor=ALICE,
    )
    event = only_event()
    assert (event.actor_kind, event.actor, event.ip) == ("user", "alice", "192.0.2.7")
    assert (event.action, event.object_type, event.object_id) == ("created", "token", str(token.pk))
    assert event.object_repr == f"Team A ({key[:11]}…)"
    assert event.changes == {
        "name": [None, "Team A"],
        "group": [None, "vip"],
        "status": [None, "enabled"],
        "expires_at": [None, "2030-12-31T22:00:00+00:00"],
        "models": [None, ["gpt-4o"]],
        "allowed_ips": [None, ["10.0.0.1/32"]],
    }
    assert_no_secret(event, key, token.key_hash)


def test_a_factory_without_an_actor_is_logged_as_the_gateway() -> None:
    services.token_create(name="fixture")
    event = only_event()
    assert (event.actor_kind, event.actor, event.ip) == (SYSTEM.kind, "gateway", None)


def test_a_change_is_logged_as_old_and_new_values() -> None:
    token, key = services.token_create(name="Old", models=["a"])
    AuditEvent.objects.all().delete()
    services.token_update(
        token=token, changes={"name": "New", "models": ["a", "b"], "group": "default"}, actor=ALICE
    )
    event = only_event()
    assert event.action == "changed"
    assert event.changes == {"name": ["Old", "New"], "models": [["a"], ["a", "b"]]}
    assert event.object_repr == f"New ({key[:11]}…)"
    assert_no_secret(event, key, token.key_hash)


def test_the_same_instant_in_another_offset_is_no_change() -> None:
    token, _ = services.token_create(name="t", expires_at=datetime(2031, 1, 1, tzinfo=UTC))
    AuditEvent.objects.all().delete()
    plus_two = datetime(2031, 1, 1, 2, tzinfo=timezone(timedelta(hours=2)))
    services.token_update(token=token, changes={"expires_at": plus_two})
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(("status", "action"), [("disabled", "disabled"), ("enabled", "enabled")])
def test_a_status_change_alone_is_logged_as_enabled_or_disabled(status: str, action: str) -> None:
    token, _ = services.token_create(
        name="t", status="enabled" if status == "disabled" else "disabled"
    )
    AuditEvent.objects.all().delete()
    services.token_update(token=token, changes={"status": status}, actor=ALICE)
    event = only_event()
    assert event.action == action
    assert event.changes == {"status": ["enabled" if action == "disabled" else "disabled", status]}


def test_a_status_change_with_other_changes_is_its_own_event() -> None:
    token, _ = services.token_create(name="t")
    AuditEvent.objects.all().delete()
    services.token_update(token=token, changes={"status": "disabled", "name": "u"}, actor=ALICE)
    events = {event.action: event for event in AuditEvent.objects.all()}
    assert set(events) == {"changed", "disabled"}
    assert events["changed"].changes == {"name": ["t", "u"]}
    assert events["disabled"].changes == {"status": ["enabled", "disabled"]}


def test_an_update_that_changes_nothing_is_not_logged() -> None:
    token, _ = services.token_create(name="t")
    AuditEvent.objects.all().delete()
    services.token_update(token=token, changes={"name": "t", "status": "enabled"}, actor=ALICE)
    assert not AuditEvent.objects.exists()


def test_deleting_a_token_is_logged_with_its_id() -> None:
    token, key = services.token_create(name="Gone")
    token_id = token.pk
    AuditEvent.objects.all().delete()
    services.token_delete(token=token, actor=ALICE)
    event = only_event()
    assert (event.action, event.object_id, event.actor) == ("deleted", str(token_id), "alice")
    assert event.object_repr == f"Gone ({key[:11]}…)"
    assert_no_secret(event, key)


def test_admin_keys_are_logged_when_created_and_revoked() -> None:
    admin_key, key = services.admin_key_create(name="ci", actor=ALICE)
    created = only_event()
    assert (created.action, created.object_type) == ("created", "admin_key")
    assert created.object_repr == f"ci ({key[:13]}…)"
    key_id = admin_key.pk
    services.admin_key_revoke(admin_key=admin_key, actor=ALICE)
    revoked = AuditEvent.objects.exclude(pk=created.pk).get()
    assert (revoked.action, revoked.object_id, revoked.actor) == ("revoked", str(key_id), "alice")
    assert revoked.object_repr == created.object_repr
    for event in (created, revoked):
        assert_no_secret(event, key, admin_key.key_hash)


def test_a_failed_audit_write_undoes_the_change(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(**_: Any) -> None:
        raise RuntimeError("audit log unavailable")

    token, _ = services.token_create(name="kept")
    admin_key, _ = services.admin_key_create(name="ci")
    monkeypatch.setattr(services, "audit_record", refuse)
    for write in (
        lambda: services.token_create(name="new"),
        lambda: services.token_update(token=token, changes={"name": "renamed"}),
        lambda: services.token_delete(token=token),
        lambda: services.admin_key_create(name="other"),
        lambda: services.admin_key_revoke(admin_key=admin_key),
    ):
        with pytest.raises(RuntimeError):
            write()
    assert list(Token.objects.values_list("name", flat=True)) == ["kept"]
    assert list(AdminKey.objects.values_list("name", flat=True)) == ["ci"]
