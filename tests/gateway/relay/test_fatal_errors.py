"""Errors that cannot heal by themselves (a refused key, a deactivated account, no quota or
credit left) run the channel check at once, and its failure disables the channel; the
request that met the error is still served by another channel."""

from __future__ import annotations

from typing import Any

import pytest

from channels_admin.models import Channel
from core.state import bump_relay_version
from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream
from tests.support.faulty_upstream import CANARY_KEY, drain_relay, running_faulty_upstream
from tests.support.live_gateway import Gateway

FATAL_ANSWERS = {
    "key_refused": (401, {"error": {"message": "Incorrect API key provided: {echo}"}}),
    "forbidden": (403, {"error": {"message": "Your key has no access."}}),
    "insufficient_quota": (
        429,
        {
            "error": {
                "message": "You exceeded your current quota, please check your plan.",
                "type": "insufficient_quota",
                "code": "insufficient_quota",
            }
        },
    ),
    "deactivated": (
        401,
        {"error": {"message": "This account has been deactivated.", "code": "account_deactivated"}},
    ),
    "balance_zh": (403, {"error": {"message": "用户余额不足", "type": "new_api_error"}}),
    "arrears_zh": (500, {"error": {"message": "该账号已欠费, 请充值后使用"}}),
}


@pytest.mark.parametrize("answer", FATAL_ANSWERS.values(), ids=FATAL_ANSWERS.keys())
def test_a_fatal_error_disables_the_channel_at_once_and_the_request_is_served(
    gateway: Gateway, upstream: FakeUpstream, answer: tuple[int, Any], settings: Any
) -> None:
    settings.BREAKER_FAILURES = 100  # only the immediate check can explain the disable
    with running_faulty_upstream() as dead:
        dead.answer("status", *answer)
        channel = make_channel(dead, priority=1)
        make_channel(upstream)
        key = make_token().key

        response = gateway.post_chat(key)
        drain_relay(gateway.relay)

    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "hello from upstream"
    channel.refresh_from_db()
    assert channel.status == "auto_disabled"
    assert CANARY_KEY not in channel.status_reason
    assert dead.hostport not in channel.status_reason


@pytest.mark.parametrize(
    ("patterns", "answer", "status"),
    [
        (None, (429, {"error": {"message": "Rate limit reached for requests"}}), "enabled"),
        (
            ("quota of the month is gone",),
            (500, {"error": {"message": "Your quota of the month is gone"}}),
            "auto_disabled",
        ),
    ],
    ids=["a_plain_429_is_not_fatal", "the_fatal_patterns_are_a_setting"],
)
def test_only_a_fatal_pattern_disables_the_channel(
    gateway: Gateway,
    upstream: FakeUpstream,
    patterns: tuple[str, ...] | None,
    answer: tuple[int, Any],
    status: str,
) -> None:
    if patterns is not None:
        gateway.relay.limits.fatal_patterns = patterns
    with running_faulty_upstream() as failing:
        failing.answer("status", *answer)
        channel = make_channel(failing, priority=1)
        make_channel(upstream)
        key = make_token().key

        assert gateway.post_chat(key).status_code == 200
        drain_relay(gateway.relay)

    channel.refresh_from_db()
    assert channel.status == status


def test_a_channel_disabled_by_hand_is_never_brought_back(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    with running_faulty_upstream() as dead:
        dead.answer("status", 401, {"error": {"message": "no"}})
        channel = make_channel(dead, priority=1)
        make_channel(upstream)
        key = make_token().key
        assert gateway.post_chat(key).status_code == 200
        drain_relay(gateway.relay)
        Channel.objects.filter(pk=channel.pk).update(status="disabled")
        dead.answer("ok")
        bump_relay_version()

        for _ in range(3):
            assert gateway.post_chat(key).status_code == 200
        drain_relay(gateway.relay)

    channel.refresh_from_db()
    assert channel.status == "disabled"
    assert dead.request_count() == 2  # the request, and the channel check
