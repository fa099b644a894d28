"""manage.py create_admin_key"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from audit.models import AuditEvent
from tests.support.audit import assert_no_secret
from tokens.models import AdminKey
from tokens.services import admin_key_find

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("create_admin_key", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_prints_a_working_key_once(client: Client) -> None:
    out, err = run("--name", "ci")
    key = out.strip().splitlines()[-1]
    # stdout is the key alone, so `KEY=$(manage.py create_admin_key --name ci)` works.
    assert out.strip() == key
    assert key.startswith("tga-")
    assert "not shown again" in err
    assert key not in err
    admin_key = AdminKey.objects.get()
    assert admin_key.name == "ci"
    assert admin_key_find(key) == admin_key
    assert all(key not in str(value) for value in AdminKey.objects.values().get().values())
    response = client.get("/api/channels", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200


def test_each_run_makes_a_new_key() -> None:
    first, _ = run("--name", "one")
    second, _ = run("--name", "two")
    assert first.strip() != second.strip()
    assert AdminKey.objects.count() == 2


def test_it_needs_a_name() -> None:
    with pytest.raises(CommandError, match="--name"):
        call_command("create_admin_key", stdout=StringIO(), stderr=StringIO())
    assert not AdminKey.objects.exists()


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("", "non-empty"),
        ("   ", "non-empty"),
        ("x" * 101, "At most 100 characters"),
        ("c\x00i", "NUL"),
    ],
)
def test_it_rejects_a_bad_name(name: str, words: str) -> None:
    with pytest.raises(CommandError, match=words):
        run("--name", name)
    assert not AdminKey.objects.exists()
    assert not AuditEvent.objects.exists()


def test_it_logs_the_creation_as_the_command_without_the_key() -> None:
    out, _ = run("--name", "ci")
    key = out.strip()
    admin_key = AdminKey.objects.get()
    event = AuditEvent.objects.get()
    assert (event.actor_kind, event.actor, event.ip) == ("system", "manage.py", None)
    assert (event.action, event.object_type) == ("created", "admin_key")
    assert event.object_id == str(admin_key.pk)
    assert event.object_repr == f"ci ({key[:13]}…)"
    assert_no_secret(event, key, admin_key.key_hash)
