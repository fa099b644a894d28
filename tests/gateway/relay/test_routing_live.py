"""Routing as a client sees it: weights, priority tiers, mapping, fallbacks."""

from __future__ import annotations

import openai
import pytest

from channels_admin.models import Channel
from channels_admin.services import channel_update
from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream, running_upstream
from tests.support.live_gateway import Gateway


def chat(gateway: Gateway, key: str, model: str = "gpt-4o-mini") -> str:
    reply = gateway.cached_client(key).chat.completions.create(
        model=model, messages=[{"role": "user", "content": "hi"}]
    )
    return reply.choices[0].message.content or ""


def test_weights_share_the_traffic(
    gateway: Gateway, upstream: FakeUpstream, second_upstream: FakeUpstream
) -> None:
    make_channel(upstream, weight=3)
    make_channel(second_upstream, weight=1)
    key = make_token().key

    answers = [chat(gateway, key) for _ in range(200)]

    first = answers.count("hello from upstream")
    # 3:1 over 200 seeded picks: 150 expected; the bounds are ~4 standard deviations.
    assert 125 <= first <= 175
    assert answers.count("hello from second") == 200 - first


def test_zero_weight_beside_nonzero_is_never_used(
    gateway: Gateway, upstream: FakeUpstream, second_upstream: FakeUpstream
) -> None:
    make_channel(upstream, weight=1)
    make_channel(second_upstream, weight=0)
    key = make_token().key

    answers = {chat(gateway, key) for _ in range(30)}

    assert answers == {"hello from upstream"}


def test_all_zero_weights_share_uniformly(
    gateway: Gateway, upstream: FakeUpstream, second_upstream: FakeUpstream
) -> None:
    make_channel(upstream, weight=0)
    make_channel(second_upstream, weight=0)
    key = make_token().key

    answers = [chat(gateway, key) for _ in range(100)]

    assert 30 <= answers.count("hello from upstream") <= 70


def test_the_highest_priority_tier_takes_all_traffic(
    gateway: Gateway, upstream: FakeUpstream, second_upstream: FakeUpstream
) -> None:
    make_channel(upstream, priority=10, weight=1)
    make_channel(second_upstream, priority=0, weight=100)
    key = make_token().key

    answers = {chat(gateway, key) for _ in range(30)}

    assert answers == {"hello from upstream"}
    assert second_upstream.requests == []


def test_a_failing_top_tier_falls_back_to_the_next(
    gateway: Gateway, second_upstream: FakeUpstream
) -> None:
    with running_upstream(name="broken", fail_with=(500, {"error": {"message": "boom"}})) as bad:
        make_channel(bad, priority=10)
        make_channel(second_upstream, priority=0)
        key = make_token().key

        answer = chat(gateway, key)

    assert answer == "hello from second"
    assert len(bad.requests) == 1


def test_an_unreachable_channel_falls_back_to_another(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    with running_upstream(name="gone") as gone:
        make_channel(gone, priority=10)
    # `gone` has stopped: connecting to it is refused.
    make_channel(upstream, priority=0)
    key = make_token().key

    assert chat(gateway, key) == "hello from upstream"


def test_no_reachable_channel_is_a_502(gateway: Gateway) -> None:
    with running_upstream(name="gone") as gone:
        make_channel(gone)
    key = make_token().key

    response = gateway.post_chat(key)

    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "upstream_error"
    assert gone.base_url.split("//")[1] not in response.text


def test_mapping_renames_the_model_upstream_and_back(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    make_channel(upstream, models=["gpt-4o-mini"], model_mapping={"my-alias": "gpt-4o-mini"})
    key = make_token().key
    client = gateway.client(key)

    reply = client.chat.completions.create(
        model="my-alias", messages=[{"role": "user", "content": "hi"}], temperature=0.25
    )
    chunks = list(
        client.chat.completions.create(
            model="my-alias", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    )

    sent = [request.json() for request in upstream.requests]
    assert [body["model"] for body in sent] == ["gpt-4o-mini", "gpt-4o-mini"]
    assert sent[0]["temperature"] == 0.25
    assert sent[0]["messages"] == [{"role": "user", "content": "hi"}]
    assert reply.model == "my-alias"
    assert chunks and all(chunk.model == "my-alias" for chunk in chunks)


def test_an_admin_change_is_seen_by_the_next_request(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    channel = make_channel(upstream)
    key = make_token().key
    chat(gateway, key)

    channel_update(channel=channel, changes={"status": "disabled"})

    with pytest.raises(openai.APIStatusError) as raised:
        chat(gateway, key)
    assert raised.value.status_code == 503
    assert Channel.objects.get().status == "disabled"
