"""Two fake upstreams for the key-follows-the-address tests: the canary key's home, and
the host an attacker would name. Everything shared more widely is in tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from channels_admin.models import Channel
from tests.support.channels import CANARY, RETYPED
from tests.support.factories import make_channel
from tests.support.fake_upstream import FakeUpstream, running_upstream


@pytest.fixture
def home() -> Iterator[FakeUpstream]:
    with running_upstream(name="home", api_key=CANARY) as fake:
        yield fake


@pytest.fixture
def elsewhere() -> Iterator[FakeUpstream]:
    with running_upstream(name="elsewhere", api_key=RETYPED) as fake:
        yield fake


@pytest.fixture
def canary(db: None, home: FakeUpstream) -> Channel:
    """A channel whose key, the canary, belongs to `home` only."""
    return make_channel(home, name="Canary", models=["gpt-4o-mini"])
