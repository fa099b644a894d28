"""An instance whose secrets are not the database's is told so at start, not by failing later."""

from __future__ import annotations

import io
import threading
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from core import crypto
from core.models import SecretsCheck
from core.secrets_check import secrets_problems

pytestmark = pytest.mark.django_db


def forget_derived_keys() -> None:
    """The crypto module keeps what it derives from the settings: forget it after a change."""
    crypto._fernet.cache_clear()
    crypto._keyed_hmac.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_keys() -> Any:
    yield
    forget_derived_keys()


def test_the_first_start_records_the_check_and_later_ones_match() -> None:
    assert secrets_problems() == []
    assert SecretsCheck.objects.count() == 1
    assert secrets_problems() == []


def test_another_secret_key_is_refused(settings: Any) -> None:
    secrets_problems()
    settings.SECRET_KEY = "another-instance-made-its-own-secret-key-" + "x" * 20
    forget_derived_keys()

    [problem] = secrets_problems()

    assert problem.startswith("SECRET_KEY differs")
    assert settings.SECRET_KEY not in problem


def test_another_encryption_key_is_refused(settings: Any) -> None:
    secrets_problems()
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    forget_derived_keys()

    [problem] = secrets_problems()

    assert problem.startswith("TOLLGATE_ENCRYPTION_KEY cannot decrypt")


def test_a_rotated_encryption_key_with_the_old_one_listed_is_fine(settings: Any) -> None:
    secrets_problems()
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *settings.ENCRYPTION_KEYS]
    forget_derived_keys()

    assert secrets_problems() == []


def test_forgetting_lets_new_secrets_start(settings: Any) -> None:
    secrets_problems()
    settings.SECRET_KEY = "changed-on-purpose-" + "y" * 40
    forget_derived_keys()
    out = io.StringIO()

    call_command("forget_secrets_check", stdout=out)

    assert "Forgotten" in out.getvalue()
    assert secrets_problems() == []


@pytest.mark.django_db(transaction=True)
def test_instances_starting_at_once_on_an_empty_database_all_start() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrent first starts need PostgreSQL (DATABASE_URL): NOT RUN on SQLite")
    starts = 8
    barrier = threading.Barrier(starts)
    results: list[list[str] | BaseException] = []

    def start() -> None:
        try:
            barrier.wait(timeout=30)
            results.append(secrets_problems())
        except BaseException as exc:  # reported below, whatever it is
            results.append(exc)
        finally:
            connection.close()

    for _round in range(5):
        SecretsCheck.objects.all().delete()
        barrier.reset()
        threads = [threading.Thread(target=start) for _ in range(starts)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert results == [[]] * (starts * 5)
    assert SecretsCheck.objects.count() == 1
