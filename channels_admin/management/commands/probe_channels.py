"""`manage.py probe_channels`: one prober round, for a cron (the server also runs the prober
by itself unless TOLLGATE_PROBER is off)."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from django.core.management.base import BaseCommand

from channels_admin.prober import probe_round


class Command(BaseCommand):
    help = (
        "Re-test the auto-disabled channels that are due (and, with TOLLGATE_TEST_ALL_INTERVAL, "
        "every enabled channel not tested for that long); print what was done."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = async_to_sync(probe_round)()
        for line in report.lines():
            self.stdout.write(line)
