"""manage.py forget_secrets_check: after changing SECRET_KEY or TOLLGATE_ENCRYPTION_KEY on
purpose, let the gateway start with the new ones (core/secrets_check.py)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from core.secrets_check import forget_secrets_check


class Command(BaseCommand):
    help = (
        "Forget the secrets this database was set up with, so the gateway starts with new "
        "ones (tokens and channel keys made with the old ones stop working)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if forget_secrets_check():
            self.stdout.write("Forgotten: the next start records the secrets it is given.")
        else:
            self.stdout.write("Nothing to forget: no start has recorded secrets yet.")
