"""A channel with several keys: each request uses one, a refused key leaves alone and the
request that met it is tried again with another key of the same channel."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import openai
import pytest

from channels_admin.models import Channel, ChannelKey
from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream, running_upstream
from tests.support.live_gateway import Gateway, serving_gateway

KEYS = [f"sk-upstream-multi-key-{n}-0123456789abcdef" for n in range(3)]
REFUSED = "sk-upstream-refused-key-0123456789abcdef"


@pytest.fixture
def gateway(transactional_db: None) -> Iterator[Gateway]:
    with serving_gateway() as live:
        yield live


@pytest.fixture
def account() -> Iterator[FakeUpstream]:
    """An upstream account that takes the three keys."""
    with running_upstream(api_key=KEYS[0], other_keys=KEYS[1:]) as upstream:
        yield upstream


def keys_used(upstream: FakeUpstream) -> list[str]:
    return [r.headers["authorization"].removeprefix("Bearer ") for r in upstream.requests]


def test_random_mode_spreads_requests_over_the_keys(
    gateway: Gateway, account: FakeUpstream
) -> None:
    make_channel(account, key="", keys=KEYS)
    client = gateway.client(make_token().key)

    for _ in range(30):
        client.chat.completions.create(model="gpt-4o-mini", messages=[])

    used = Counter(keys_used(account))
    assert set(used) == set(KEYS)
    assert sum(used.values()) == 30


def test_round_robin_takes_the_keys_in_turn(gateway: Gateway, account: FakeUpstream) -> None:
    make_channel(account, key="", keys=KEYS, key_mode="round_robin")
    client = gateway.client(make_token().key)

    for _ in range(6):
        client.chat.completions.create(model="gpt-4o-mini", messages=[])

    assert keys_used(account) == KEYS + KEYS


def test_a_refused_key_is_disabled_alone_while_requests_keep_succeeding(
    gateway: Gateway, account: FakeUpstream
) -> None:
    channel = make_channel(account, key="", keys=[KEYS[0], REFUSED, KEYS[1]])
    client = gateway.client(make_token().key)

    for _ in range(12):  # every one answered, also those that met the refused key first
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=[])
        assert reply.choices[0].message.content == "hello from upstream"
    gateway.drain_rechecks()

    refused = ChannelKey.objects.get(channel=channel, index=1)
    assert refused.status == "disabled"
    assert refused.reason and REFUSED not in refused.reason
    assert Channel.objects.get(pk=channel.pk).status == "enabled"
    assert set(
        ChannelKey.objects.filter(channel=channel, status="enabled").values_list("index", flat=True)
    ) == {0, 2}
    # Out of rotation on the next reload: no request meets it again.
    before = len(account.requests)
    for _ in range(6):
        client.chat.completions.create(model="gpt-4o-mini", messages=[])
    assert REFUSED not in keys_used(account)[before:]


def test_a_channel_is_disabled_only_when_no_key_is_left(gateway: Gateway) -> None:
    with running_upstream() as account:
        channel = make_channel(
            account, key="", keys=[REFUSED, "sk-upstream-also-refused-0123456789ab"]
        )
        client = gateway.client(make_token().key)

        with pytest.raises(openai.APIStatusError):
            client.chat.completions.create(model="gpt-4o-mini", messages=[])
        gateway.drain_rechecks()

    assert Channel.objects.get(pk=channel.pk).status == "auto_disabled"
    assert not ChannelKey.objects.filter(channel=channel, status="enabled").exists()
