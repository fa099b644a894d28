"""A 200 that is not the JSON answer it should be is a failure: the next channel answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream
from tests.support.faulty_upstream import FaultyUpstream, running_faulty_upstream
from tests.support.live_gateway import Gateway


@pytest.fixture
def faulty() -> Iterator[FaultyUpstream]:
    with running_faulty_upstream() as upstream:
        yield upstream


@pytest.mark.parametrize("mode", ["html", "not_json"])
def test_a_200_that_is_not_json_is_served_by_another_channel(
    gateway: Gateway, faulty: FaultyUpstream, upstream: FakeUpstream, mode: str
) -> None:
    faulty.answer(mode)
    make_channel(faulty, priority=1)  # tried first
    make_channel(upstream)
    key = make_token().key

    response = gateway.post_chat(key)

    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "hello from upstream"
    assert faulty.request_count() == 1
    assert "<html>" not in response.text


def test_an_html_page_for_a_streamed_request_fails_over_too(
    gateway: Gateway, faulty: FaultyUpstream, upstream: FakeUpstream
) -> None:
    faulty.answer("html")
    make_channel(faulty, priority=1)
    make_channel(upstream)
    key = make_token().key

    chunks = list(
        gateway.client(key).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    )

    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).startswith(
        "part0"
    )
    assert faulty.request_count() == 1
