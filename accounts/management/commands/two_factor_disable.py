"""For an admin who lost both their phone and their recovery codes."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.selectors import two_factor_enabled
from accounts.services import two_factor_disable
from audit.services import COMMAND


class Command(BaseCommand):
    help = "Turn off two-factor sign-in for one account (its authenticator and recovery codes)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        user = (
            get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: username}).first()
        )
        if user is None:
            raise CommandError(f"No account named {username!r}.")
        if not two_factor_enabled(user):
            self.stdout.write(f"Two-factor sign-in was already off for {username}.")
            return
        two_factor_disable(user=user, actor=COMMAND)
        self.stdout.write(f"Two-factor sign-in is now off for {username}.")
