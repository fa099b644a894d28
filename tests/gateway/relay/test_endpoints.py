from __future__ import annotations

import httpx
import pytest
from openai import NotFoundError

from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream
from tests.support.live_gateway import Gateway


def test_it_relays_a_completion(gateway: Gateway, upstream: FakeUpstream) -> None:
    make_channel(upstream, models=["gpt-3.5-turbo-instruct"])
    key = make_token().key

    reply = gateway.client(key).completions.create(model="gpt-3.5-turbo-instruct", prompt="Say")

    assert reply.choices[0].text == "completed by upstream"
    assert upstream.requests[-1].path == "/v1/completions"
    assert upstream.requests[-1].json()["prompt"] == "Say"


def test_it_relays_embeddings(gateway: Gateway, upstream: FakeUpstream) -> None:
    make_channel(upstream)
    key = make_token().key

    reply = gateway.client(key).embeddings.create(
        model="text-embedding-3-small", input=["one", "two"]
    )

    assert [item.index for item in reply.data] == [0, 1]
    assert reply.data[0].embedding == [0.1, 0.2, 0.3]
    assert upstream.requests[-1].path == "/v1/embeddings"


def test_it_lists_exactly_the_models_the_token_may_call(
    gateway: Gateway, upstream: FakeUpstream, second_upstream: FakeUpstream
) -> None:
    make_channel(upstream, models=["gpt-4o-mini", "gpt-4o"], model_mapping={"fast": "gpt-4o-mini"})
    make_channel(second_upstream, models=["vip-model"], groups=["vip"])
    make_channel(upstream, name="off", models=["disabled-model"], status="disabled")
    everything = make_token().key
    limited = make_token(models=["gpt-4o", "fast", "vip-model"]).key

    listed = [model.id for model in gateway.client(everything).models.list()]
    limited_list = [model.id for model in gateway.client(limited).models.list()]

    assert listed == ["fast", "gpt-4o", "gpt-4o-mini"]
    assert limited_list == ["fast", "gpt-4o"]


def test_it_retrieves_one_model(gateway: Gateway, upstream: FakeUpstream) -> None:
    make_channel(upstream)
    key = make_token().key
    client = gateway.client(key)

    assert client.models.retrieve("gpt-4o-mini").id == "gpt-4o-mini"
    with pytest.raises(NotFoundError) as raised:
        client.models.retrieve("not-served")
    assert raised.value.code == "model_not_found"


def test_it_relays_a_multipart_upload_with_the_model_mapped(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    make_channel(upstream, models=["whisper-1"], model_mapping={"stt": "whisper-large"})
    key = make_token().key
    audio = b"RIFF" + bytes(range(256)) * 40

    reply = gateway.client(key).audio.transcriptions.create(
        model="stt", file=("speech.wav", audio, "audio/wav")
    )

    sent = upstream.requests[-1]
    assert sent.path == "/v1/audio/transcriptions"
    assert sent.headers["content-type"].startswith("multipart/form-data")
    assert b'name="model"\r\n\r\nwhisper-large\r\n' in sent.body
    assert audio in sent.body  # the file itself is untouched
    assert reply is not None


def test_it_relays_other_model_endpoints(gateway: Gateway, upstream: FakeUpstream) -> None:
    make_channel(upstream, models=["dall-e-3", "omni-moderation-latest", "rerank-1"])
    key = make_token().key

    for path, model in [
        ("/images/generations", "dall-e-3"),
        ("/moderations", "omni-moderation-latest"),
        ("/rerank", "rerank-1"),
        ("/responses", "dall-e-3"),
    ]:
        response = httpx.post(
            gateway.v1 + path,
            headers={"Authorization": f"Bearer {key}"},
            json={"model": model, "input": "x"},
        )
        assert response.status_code == 200, path
        assert response.json()["echo_path"] == "/v1" + path


def test_it_forwards_the_query_string(gateway: Gateway, upstream: FakeUpstream) -> None:
    make_channel(upstream)
    key = make_token().key

    httpx.post(
        gateway.v1 + "/chat/completions?api-version=2024-06-01",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": "gpt-4o-mini", "messages": []},
    )

    assert upstream.requests[-1].path == "/v1/chat/completions"
    assert upstream.requests[-1].query == "api-version=2024-06-01"
