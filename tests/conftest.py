from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fake_upstream import FakeUpstream, running_upstream


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    """A real fake OpenAI upstream on a free loopback port."""
    with running_upstream() as fake:
        yield fake
