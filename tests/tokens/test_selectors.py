"""tokens.selectors: one expiry rule, for a single token and as a database filter."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.support.factories import make_token
from tokens.models import Token
from tokens.selectors import expired_q, is_expired


def test_a_token_expires_at_its_time_exactly() -> None:
    now = timezone.now()

    assert not is_expired(None, now)
    assert not is_expired(now + timedelta(seconds=1), now)
    assert is_expired(now, now)
    assert is_expired(now - timedelta(seconds=1), now)


def test_the_rule_reads_the_same_in_epoch_seconds() -> None:
    assert not is_expired(None, 100.0)
    assert not is_expired(101.0, 100.0)
    assert is_expired(100.0, 100.0)


@pytest.mark.django_db
def test_the_filter_selects_what_the_rule_calls_expired() -> None:
    now = timezone.now()
    make_token(name="never")
    make_token(name="later", expires_at=now + timedelta(minutes=1))
    make_token(name="now", expires_at=now)
    make_token(name="past", expires_at=now - timedelta(days=1))

    expired = set(Token.objects.filter(expired_q(now)).values_list("name", flat=True))

    assert expired == {"now", "past"}
    assert expired == {
        token.name for token in Token.objects.all() if is_expired(token.expires_at, now)
    }
