"""The relay tests' live gateway and a second upstream (factories: tests/support)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fake_upstream import FakeUpstream, running_upstream
from tests.support.live_gateway import Gateway, serving_gateway


@pytest.fixture
def gateway(transactional_db: None) -> Iterator[Gateway]:
    with serving_gateway() as gateway:
        yield gateway


@pytest.fixture
def second_upstream() -> Iterator[FakeUpstream]:
    with running_upstream(name="second", api_key="sk-second-upstream-key-abcdef0123456789") as fake:
        yield fake
