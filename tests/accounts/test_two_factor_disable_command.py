"""manage.py two_factor_disable: for an admin who lost both the phone and the recovery codes."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from tests.support.two_factor import Enrolled


def test_it_turns_two_factor_off_and_audits_it(enrolled: Enrolled) -> None:
    out = StringIO()
    call_command("two_factor_disable", "alice", stdout=out)
    assert "now off for alice" in out.getvalue()
    assert not TOTPDevice.objects.exists()
    [event] = AuditEvent.objects.filter(action="two_factor_disabled")
    assert (event.actor_kind, event.actor, event.object_repr) == ("system", "manage.py", "alice")


def test_it_says_when_there_was_nothing_to_do(alice: Any) -> None:
    out = StringIO()
    call_command("two_factor_disable", "alice", stdout=out)
    assert "already off" in out.getvalue()
    assert not AuditEvent.objects.exists()


def test_an_unknown_account_is_an_error(db: None) -> None:
    with pytest.raises(CommandError, match="No account named 'nobody'"):
        call_command("two_factor_disable", "nobody")
