"""`python manage.py purge_usage`: delete the usage records older than the retention now."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from usage.retention import BATCH_SIZE, purge_expired, retention_cutoff


class Command(BaseCommand):
    help = (
        "Delete usage records older than TOLLGATE_USAGE_RETENTION_DAYS (or --days), in "
        "batches; hourly and daily aggregates are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Keep this many days instead of TOLLGATE_USAGE_RETENTION_DAYS (0: keep all).",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SIZE,
            help=f"Records deleted per statement (default {BATCH_SIZE}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = settings.USAGE_RETENTION_DAYS if options["days"] is None else options["days"]
        batch_size = max(1, options["batch_size"])
        now = timezone.now()
        cutoff = retention_cutoff(now, days)
        if cutoff is None:
            self.stdout.write("Retention is off (0 days): no usage records deleted.")
            return
        deleted = purge_expired(now=now, days=days, batch_size=batch_size)
        self.stdout.write(
            f"Deleted {deleted} usage record{'s' if deleted != 1 else ''} older than "
            f"{days} day{'s' if days != 1 else ''} (before {cutoff.isoformat(timespec='seconds')})."
        )
