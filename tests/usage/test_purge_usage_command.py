"""`manage.py purge_usage`: deletes what the retention says, prints how many."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from django.core.management import call_command
from django.utils import timezone

from tests.usage.log_records import make_records
from usage.models import UsageRecord


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("purge_usage", *args, stdout=out)
    return out.getvalue()


def test_it_deletes_old_records_and_says_how_many(settings: Any, db: None) -> None:
    settings.USAGE_RETENTION_DAYS = 90
    make_records(3, start=timezone.now() - dt.timedelta(days=120))
    make_records(2, start=timezone.now() - dt.timedelta(days=10))

    output = run()

    assert output.startswith("Deleted 3 usage records older than 90 days (before ")
    assert UsageRecord.objects.count() == 2


def test_days_can_be_given(settings: Any, db: None) -> None:
    settings.USAGE_RETENTION_DAYS = 90
    make_records(2, start=timezone.now() - dt.timedelta(days=10))

    assert run("--days", "5", "--batch-size", "1").startswith(
        "Deleted 2 usage records older than 5 days"
    )
    assert UsageRecord.objects.count() == 0


def test_one_record_is_one(settings: Any, db: None) -> None:
    make_records(1, start=timezone.now() - dt.timedelta(days=400))
    assert run("--days", "1").startswith("Deleted 1 usage record older than 1 day ")


def test_zero_days_deletes_nothing(settings: Any, db: None) -> None:
    settings.USAGE_RETENTION_DAYS = 0
    make_records(2, start=timezone.now() - dt.timedelta(days=4000))

    assert run() == "Retention is off (0 days): no usage records deleted.\n"
    assert UsageRecord.objects.count() == 2
