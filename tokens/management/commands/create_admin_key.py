"""Create a key for the JSON admin API and print it, the only time it exists in the clear."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.services import COMMAND
from tokens.forms import AdminKeyForm
from tokens.services import admin_key_create


class Command(BaseCommand):
    help = "Create an admin API key (for 'Authorization: Bearer <key>' on /api/) and print it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="What the key is for, e.g. 'ci'.")

    def handle(self, *args: Any, **options: Any) -> None:
        # The pages' form checks the name, so every way in follows the same rules.
        form = AdminKeyForm.from_json({"name": options["name"]}, partial=False)
        if not form.is_valid():
            raise CommandError(" ".join(str(message) for message in form.errors["name"]))
        admin_key, key = admin_key_create(name=form.cleaned_data["name"], actor=COMMAND)
        # The note goes to stderr so `KEY=$(manage.py create_admin_key --name ci)` gets the key.
        self.stderr.write(
            f"Created admin API key {admin_key.name!r} ({admin_key.display_prefix}). "
            "Store it now: it is not shown again."
        )
        self.stdout.write(key)
