from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

pytestmark = pytest.mark.django_db


def _ensure_admin(monkeypatch: pytest.MonkeyPatch, password: str) -> str:
    monkeypatch.setenv("TOLLGATE_ADMIN_USER", "root-admin")
    monkeypatch.setenv("TOLLGATE_ADMIN_PASSWORD", password)
    out = io.StringIO()
    call_command("ensure_admin", stdout=out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("k3y!", "This password is too short. It must contain at least 8 characters."),
        ("password123", "This password is too common."),
        ("8675309012345", "This password is entirely numeric."),
        ("root-admin1", "The password is too similar to the username."),
    ],
)
def test_it_refuses_a_weak_password_loudly(
    monkeypatch: pytest.MonkeyPatch, password: str, message: str
) -> None:
    with pytest.raises(CommandError) as refused:
        _ensure_admin(monkeypatch, password)
    assert str(refused.value).startswith("TOLLGATE_ADMIN_PASSWORD is refused: ")
    assert message in str(refused.value)
    assert password not in str(refused.value)
    assert not get_user_model().objects.filter(username="root-admin").exists()


def test_it_creates_the_admin_with_a_strong_password(monkeypatch: pytest.MonkeyPatch) -> None:
    out = _ensure_admin(monkeypatch, "plum orbit glacier kettle")
    assert "Created admin 'root-admin' from TOLLGATE_ADMIN_PASSWORD." in out
    admin = get_user_model().objects.get(username="root-admin")
    assert admin.is_staff and admin.is_superuser
    assert admin.check_password("plum orbit glacier kettle")


def test_the_generated_password_passes_the_validators(monkeypatch: pytest.MonkeyPatch) -> None:
    out = _ensure_admin(monkeypatch, "")
    password = out.split("with password: ", 1)[1].split()[0]
    assert get_user_model().objects.get(username="root-admin").check_password(password)
