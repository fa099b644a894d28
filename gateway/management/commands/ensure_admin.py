"""Create the first admin when there is none: from the environment, or with a printed password."""

from __future__ import annotations

import os
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create a superuser if no staff user exists (TOLLGATE_ADMIN_USER/_PASSWORD)."

    def handle(self, *args: object, **options: object) -> None:
        user_model = get_user_model()
        if user_model.objects.filter(is_staff=True, is_active=True).exists():
            self.stdout.write("An admin exists already; nothing to do.")
            return
        username = os.environ.get("TOLLGATE_ADMIN_USER", "").strip() or "admin"
        password = os.environ.get("TOLLGATE_ADMIN_PASSWORD", "")
        generated = not password
        if generated:
            password = secrets.token_urlsafe(18)
        if user_model.objects.filter(username=username).exists():
            raise CommandError(
                f"A user named {username!r} exists but is not an active admin: "
                "set TOLLGATE_ADMIN_USER to another name or fix that user."
            )
        try:
            # The validators of AUTH_PASSWORD_VALIDATORS, as for any password set in the panel.
            validate_password(password, user_model(username=username))
        except ValidationError as exc:
            raise CommandError(
                "TOLLGATE_ADMIN_PASSWORD is refused: " + " ".join(exc.messages)
            ) from None
        user_model.objects.create_superuser(username=username, email="", password=password)
        if generated:
            # Printed once, here, and stored nowhere but as Django's password hash.
            self.stdout.write(
                self.style.WARNING(
                    f"Created admin {username!r} with password: {password}\n"
                    "Write it down now: it is not shown again."
                )
            )
        else:
            self.stdout.write(f"Created admin {username!r} from TOLLGATE_ADMIN_PASSWORD.")
