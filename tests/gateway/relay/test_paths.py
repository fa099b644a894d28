"""A /v1 path can never reach anything on the upstream but the channel's base URL + a clean path."""

from __future__ import annotations

import json

import pytest

from core.errors import ApiError
from gateway.relay.paths import relay_path
from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream
from tests.support.live_gateway import Gateway
from tests.support.servers import raw_request

# Every spelling of "somewhere else" we could think of. Each must be refused, whole.
HOSTILE_TARGETS = [
    b"/v1/../_control",
    b"/v1/./chat/completions",
    b"/v1/chat/../../_control",
    b"/v1/chat/completions/..",
    b"/v1/chat/completions/.",
    b"/v1/%2e%2e/_control",
    b"/v1/%2E%2E/_control",
    b"/v1/.%2E/_control",
    b"/v1/%2e./_control",
    b"/v1/%2e/chat/completions",
    b"/v1/chat/%2e%2e/%2e%2e/deployments/other-dep/chat/completions",
    b"/v1/..%2F_control",
    b"/v1/..%2f..%2f_control",
    b"/v1/chat%2Fcompletions",
    b"/v1/chat%2fcompletions",
    b"/v1/chat%5ccompletions",
    b"/v1/chat%5Ccompletions",
    b"/v1/..%5c..%5c_control",
    b"/v1/chat\\completions",
    b"/v1/..\\..\\_control",
    b"/v1//chat/completions",
    b"/v1/chat//completions",
    b"/v1/chat/completions/",
    b"/v1/chat/completions%00",
    b"/v1/chat/completions%00/../../_control",
    b"/v1/chat/completions%0D%0AX-Injected:%20yes",
    b"/v1/chat/completions%0a",
    b"/v1/chat%09completions",
    b"/v1/chat/completions%7f",
    b"/v1/chat/completions%c2%85",
    b"/v1/%252e%252e/_control",
    b"/v1/%25%32%65%25%32%65/_control",
    b"/v1/..;/_control",
    b"/v1/chat/completions;/../../_control",
    b"/v1/...",
    b"/v1/%c0%ae%c0%ae/_control",
    b"/v1/%ef%bc%8e%ef%bc%8e/_control",
    b"/v1%2f..%2f_control",
    b"/v1%2F..%2F_control",
    b"/%76%31/chat/completions",
    b"/v1/chat/%20completions",
    b"/v1/chat/completions%23/../../_control",
    b"/v1/chat/completions%3F/../../_control",
]


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_it_refuses_every_hostile_path_before_reading_it(target: bytes) -> None:
    raw, _, _ = target.partition(b"?")
    with pytest.raises(ApiError) as raised:
        relay_path(raw, _decoded(raw))

    assert (raised.value.status, raised.value.code) == (400, "invalid_path")


@pytest.mark.parametrize(
    ("target", "upstream"),
    [
        (b"/v1/chat/completions", "/chat/completions"),
        (b"/v1/audio/transcriptions", "/audio/transcriptions"),
        (b"/v1/responses", "/responses"),
        (b"/v1/fine_tuning/jobs/ftjob-abc123/cancel", "/fine_tuning/jobs/ftjob-abc123/cancel"),
        (b"/v1/chat/c%6fmpletions", "/chat/completions"),
    ],
)
def test_a_clean_path_goes_upstream_as_plain_segments(target: bytes, upstream: str) -> None:
    assert relay_path(target, _decoded(target)).upstream == upstream


def test_a_model_id_with_a_slash_is_only_for_the_local_model_route() -> None:
    path = relay_path(b"/v1/models/meta-llama%2FLlama-3", "/v1/models/meta-llama/Llama-3")

    assert path.segments == ("models", "meta-llama/Llama-3")
    assert path.upstream is None  # never forwarded


def test_a_path_the_server_decoded_differently_is_refused() -> None:
    with pytest.raises(ApiError) as raised:
        relay_path(b"/v1/chat/completions", "/v1/chat/../completions")

    assert (raised.value.status, raised.value.code) == (400, "invalid_path")


def _decoded(raw: bytes) -> str:
    from urllib.parse import unquote

    return unquote(raw.decode("latin-1"))


CHAT = json.dumps({"model": "gpt-4o-mini", "messages": []}).encode()


def test_no_hostile_path_leaves_an_azure_style_base_url(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    prefix = "/openai/deployments/cheap-dep"
    make_channel(upstream, base_url=upstream.base_url + prefix)
    key = make_token().key

    for target in HOSTILE_TARGETS:
        status, payload = gateway.post_raw(key, CHAT, target=target)
        assert status == 400, target
        if payload:  # the server itself may refuse a raw control character first
            assert payload["error"]["code"] == "invalid_path", target
            assert set(payload["error"]) == {"message", "type", "param", "code"}
    assert upstream.requests == []

    status, payload = gateway.post_raw(
        key, CHAT, target=b"/v1/chat/completions?api-version=2024-06-01"
    )

    assert status == 200
    assert [(r.raw_path, r.query) for r in upstream.requests] == [
        (prefix + "/chat/completions", "api-version=2024-06-01")
    ]


def test_a_hostile_path_is_refused_without_a_key_too(gateway: Gateway) -> None:
    answer = raw_request(gateway.url, b"/v1/%2e%2e/admin/")

    assert answer.status == 400
    assert json.loads(answer.body)["error"]["code"] == "invalid_path"


def test_the_sdk_can_retrieve_a_model_whose_id_has_a_slash(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    make_channel(upstream, models=["meta-llama/Llama-3.1-8B-Instruct"])
    key = make_token().key

    model = gateway.client(key).models.retrieve("meta-llama/Llama-3.1-8B-Instruct")

    assert model.id == "meta-llama/Llama-3.1-8B-Instruct"
