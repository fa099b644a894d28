"""A body that names its model twice is refused: parsers disagree on which one counts."""

from __future__ import annotations

import httpx
import pytest

from core.errors import ApiError
from gateway.relay.bodies import parse_body, with_model
from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream
from tests.support.live_gateway import Gateway

BOUNDARY = b"tollgate-boundary"
MULTIPART = b"multipart/form-data; boundary=" + BOUNDARY


def part(disposition: bytes, value: bytes) -> bytes:
    return b"--" + BOUNDARY + b"\r\n" + disposition + b"\r\n\r\n" + value + b"\r\n"


def multipart(*parts: bytes) -> bytes:
    return b"".join(parts) + b"--" + BOUNDARY + b"--\r\n"


FILE = part(b'Content-Disposition: form-data; name="file"; filename="a.wav"', b"RIFF....")


@pytest.mark.parametrize(
    "body",
    [
        b'{"model": "cheap", "model": "expensive"}',
        b'{"model": "cheap", "messages": [], "model": "expensive"}',
        b'{"model": "cheap", "mod\\u0065l": "expensive"}',
        b'{"m\\u006fdel": "cheap", "model": "expensive"}',
        b'{"\\u006d\\u006F\\u0064\\u0065\\u006C": "cheap", "model": "expensive"}',
        b'{"mo\\u0064el": "cheap", "mode\\u006c": "expensive"}',
    ],
)
def test_it_refuses_json_that_names_the_model_twice(body: bytes) -> None:
    with pytest.raises(ApiError) as raised:
        parse_body(b"application/json", body)

    assert raised.value.code == "duplicate_model"


@pytest.mark.parametrize(
    ("body", "model"),
    [
        (b'{"model": "cheap", "tools": [{"parameters": {"model": "x", "model": "y"}}]}', "cheap"),
        (b'{"mod\\u0065l": "cheap"}', "cheap"),
        (b'{"model": "cheap", "input": "say \\\\u006d and \\"model\\""}', "cheap"),
        (b'{"model": "cheap", "messages": [{"content": "caf\\u00e9"}]}', "cheap"),
    ],
)
def test_one_top_level_model_is_fine_whatever_else_the_body_holds(body: bytes, model: str) -> None:
    assert parse_body(b"application/json", body).model == model


def test_an_escaped_model_key_is_renamed_not_a_nested_one() -> None:
    body = b'{"mod\\u0065l": "alias", "tools": [{"model": "alias"}]}'

    renamed = with_model(body, parse_body(b"application/json", body), "real")

    assert renamed == b'{"model":"real","tools":[{"model":"alias"}]}'


@pytest.mark.parametrize(
    "second",
    [
        b'Content-Disposition: form-data; name="model"',
        b"Content-Disposition: form-data; name=model",
        b'content-disposition: form-data; NAME="model"',
        b'CONTENT-DISPOSITION: form-data; Name = "model"',
        b'Content-Disposition: form-data; name="Model"',
        b'Content-Disposition: form-data; name="mo\\del"',
        b"Content-Disposition: form-data; name*=utf-8''model",
        b'Content-Disposition: form-data; name="file"; name="model"',
        b'Content-Type: text/plain\r\nContent-Disposition: form-data; name="model"',
    ],
)
def test_it_refuses_multipart_with_two_model_parts(second: bytes) -> None:
    body = multipart(
        part(b'Content-Disposition: form-data; name="model"', b"cheap"),
        FILE,
        part(second, b"expensive"),
    )

    with pytest.raises(ApiError) as raised:
        parse_body(MULTIPART, body)

    assert raised.value.code == "duplicate_model"


def test_a_file_named_model_is_not_a_model_part() -> None:
    body = multipart(
        part(b'Content-Disposition: form-data; name="model"', b"cheap"),
        part(b'Content-Disposition: form-data; name="file"; filename="model"', b"data"),
    )

    assert parse_body(MULTIPART, body).model == "cheap"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        # Two boundaries: which one a parser takes decides which parts it sees.
        (
            MULTIPART + b"; boundary=other",
            multipart(part(b'Content-Disposition: form-data; name="model"', b"cheap")),
        ),
        # A part whose headers end in bare LFs hides a second model part from a strict reader.
        (
            MULTIPART,
            b"--"
            + BOUNDARY
            + b'\r\nContent-Disposition: form-data; name="x"\n\nhidden\n--'
            + BOUNDARY
            + b'\r\nContent-Disposition: form-data; name="model"\r\n\r\nexpensive\r\n--'
            + BOUNDARY
            + b"--\r\n",
        ),
        # Parts after the closing delimiter.
        (
            MULTIPART,
            multipart(part(b'Content-Disposition: form-data; name="model"', b"cheap"))
            + part(b'Content-Disposition: form-data; name="model"', b"expensive"),
        ),
    ],
)
def test_it_refuses_multipart_that_parsers_would_read_differently(
    content_type: bytes, body: bytes
) -> None:
    with pytest.raises(ApiError) as raised:
        parse_body(content_type, body)

    assert raised.value.code in {"invalid_multipart", "duplicate_model"}


def test_a_token_for_a_cheap_model_cannot_smuggle_an_expensive_one(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    make_channel(upstream, models=["whisper-cheap", "whisper-expensive"])
    key = make_token(models=["whisper-cheap"]).key
    body = multipart(
        part(b'Content-Disposition: form-data; name="model"', b"whisper-cheap"),
        FILE,
        part(b"Content-Disposition: form-data; name=model", b"whisper-expensive"),
    )

    response = httpx.post(
        gateway.v1 + "/audio/transcriptions",
        headers={"Authorization": f"Bearer {key}", "Content-Type": MULTIPART.decode()},
        content=body,
    )
    json_twice = httpx.post(
        gateway.v1 + "/chat/completions",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        content=b'{"model": "whisper-cheap", "messages": [], "mod\\u0065l": "whisper-expensive"}',
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "duplicate_model"
    assert json_twice.status_code == 400
    assert json_twice.json()["error"]["code"] == "duplicate_model"
    assert upstream.requests == []


def test_json_in_another_encoding_is_refused_rather_than_guessed() -> None:
    body = '{"model": "cheap", "model": "expensive"}'.encode("utf-16")

    with pytest.raises(ApiError) as raised:
        parse_body(b"application/json", body)

    assert raised.value.code == "invalid_json"
