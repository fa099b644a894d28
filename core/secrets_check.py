"""Do this instance's secrets match the ones the database's tokens and keys were made with?

Instances sharing a database must share SECRET_KEY (tokens and admin keys are stored as its
keyed hashes) and TOLLGATE_ENCRYPTION_KEY (channel keys are encrypted with it). Each instance
otherwise makes its own in its data directory, and every token and channel key made on
another instance then fails, quietly. The first instance to start records a check value of
each in the database; every later start compares, and the server refuses to start on a
mismatch with a message that says which and what to do.
"""

from __future__ import annotations

from django.db import transaction

from core.crypto import decrypt_secret, encrypt_secret, keyed_hash
from core.models import SecretsCheck

_PROBE = "tollgate secrets check"


def secrets_problems() -> list[str]:
    """What does not match (empty when all is well); records the check values on first use."""
    # Several instances (or one's workers) may start at once on an empty database: one of
    # them records the values, and get_or_create lets the others read that row instead of
    # failing on its key (a row that does not exist yet cannot be locked first).
    with transaction.atomic():
        check, created = SecretsCheck.objects.get_or_create(
            pk=1,
            defaults={
                "secret_key_check": keyed_hash(_PROBE),
                "encryption_check": encrypt_secret(_PROBE),
            },
        )
        if created:
            return []
        problems = []
        if check.secret_key_check != keyed_hash(_PROBE):
            problems.append(
                "SECRET_KEY differs from the one this database's tokens and admin keys were "
                "made with: every one of them would be refused. Give this instance the same "
                "SECRET_KEY as the others (README: Several instances), or, if it was changed "
                "on purpose, run `python manage.py forget_secrets_check` and issue new tokens."
            )
        try:
            readable = decrypt_secret(check.encryption_check) == _PROBE
        except ValueError:
            readable = False
        if not readable:
            problems.append(
                "TOLLGATE_ENCRYPTION_KEY cannot decrypt the channel keys in this database. "
                "Give this instance the same TOLLGATE_ENCRYPTION_KEY as the others (a new key "
                "goes first, the old ones after it, comma-separated), or, if the old key is "
                "lost, run `python manage.py forget_secrets_check` and enter every channel's "
                "key again."
            )
        return problems


def forget_secrets_check() -> bool:
    """After a deliberate change of secrets: the next start records the new ones."""
    deleted, _ = SecretsCheck.objects.filter(pk=1).delete()
    return bool(deleted)
