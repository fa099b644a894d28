"""When the upstream says a model does not exist, only that model leaves that channel."""

from __future__ import annotations

from channels_admin.models import Channel
from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream
from tests.support.faulty_upstream import drain_relay, running_faulty_upstream
from tests.support.live_gateway import Gateway

NO_SUCH_MODEL = {
    "error": {
        "message": "The model `gpt-4o-mini` does not exist or you do not have access to it.",
        "type": "invalid_request_error",
        "code": "model_not_found",
    }
}


def test_a_missing_model_is_taken_off_that_channel_only(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    with running_faulty_upstream(models=["gpt-4o-mini", "gpt-4o"]) as partial:
        partial.answer("status", 404, NO_SUCH_MODEL)
        channel = make_channel(partial, priority=1)
        make_channel(upstream)
        key = make_token().key

        first = gateway.post_chat(key)
        drain_relay(gateway.relay)
        second = gateway.post_chat(key)
        partial.answer("ok")
        other_model = gateway.post_chat(key, model="gpt-4o")

    assert first.status_code == 200  # served by the other channel
    assert second.status_code == 200
    assert partial.request_count() == 2  # the first gpt-4o-mini, then gpt-4o
    channel.refresh_from_db()
    assert channel.status == "enabled"
    assert list(channel.disabled_models) == ["gpt-4o-mini"]
    assert other_model.json()["choices"][0]["message"]["content"] == "hello from faulty"
    assert Channel.objects.exclude(pk=channel.pk).get().disabled_models == {}
