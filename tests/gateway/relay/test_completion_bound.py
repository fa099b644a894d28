"""How much completion a request is reserved for, from what its body says."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.relay.billing import MAX_COUNTED_TOKENS, completion_bound


@pytest.mark.parametrize(
    ("payload", "bound"),
    [
        ({}, 4096),
        ({"max_tokens": 100}, 100),
        ({"max_completion_tokens": 50, "max_tokens": 100}, 50),
        ({"max_output_tokens": 70}, 70),
        ({"max_tokens": 100, "n": 3}, 300),
        ({"max_tokens": True}, 4096),
        ({"max_tokens": -5}, 4096),
        ({"max_tokens": "100"}, 4096),
        ({"max_tokens": 10**12}, MAX_COUNTED_TOKENS),
    ],
)
def test_text_endpoints_are_bounded_by_the_request(payload: dict[str, Any], bound: int) -> None:
    assert completion_bound(payload, "/chat/completions", 4096) == bound


def test_other_endpoints_reserve_no_completion() -> None:
    assert completion_bound({"input": "x"}, "/embeddings", 4096) == 0
    assert completion_bound(None, "/chat/completions", 4096) == 0
