from __future__ import annotations

import json

import pytest

from core.errors import ApiError
from gateway.relay.bodies import parse_body, with_model

BOUNDARY = b"----tollgate-test"


def multipart(*parts: tuple[str, bytes]) -> bytes:
    out = b""
    for name, value in parts:
        out += b"--" + BOUNDARY + b"\r\n"
        out += f'Content-Disposition: form-data; name="{name}"'.encode() + b"\r\n\r\n"
        out += value + b"\r\n"
    return out + b"--" + BOUNDARY + b"--\r\n"


CONTENT_TYPE = b"multipart/form-data; boundary=" + BOUNDARY


def test_it_reads_the_model_from_json() -> None:
    parsed = parse_body(b"application/json", b'{"model": "m", "stream": true}')

    assert parsed.model == "m"
    assert parsed.payload == {"model": "m", "stream": True}


def test_an_unchanged_model_keeps_the_body_byte_for_byte() -> None:
    body = b'{ "model" : "m",  "messages": [], "x": 1.50 }'

    assert with_model(body, parse_body(b"application/json", body), "m") is body


def test_renaming_changes_only_the_model() -> None:
    body = json.dumps(
        {
            "model": "alias",
            "messages": [{"role": "user", "content": "héllo ✓"}],
            "top_p": 0.9,
            "seed": 12345678901234567890123,
        }
    ).encode()

    renamed = json.loads(with_model(body, parse_body(b"application/json", body), "real"))

    assert renamed == {**json.loads(body), "model": "real"}


def test_it_finds_and_renames_the_model_in_multipart() -> None:
    audio = bytes(range(256)) * 4
    body = multipart(("file", audio), ("model", b"alias"), ("language", b"en"))

    parsed = parse_body(CONTENT_TYPE, body)
    renamed = with_model(body, parsed, "whisper-1")

    assert parsed.model == "alias"
    assert renamed == body.replace(b"\r\n\r\nalias\r\n", b"\r\n\r\nwhisper-1\r\n")
    assert audio in renamed


def test_multipart_without_a_model_has_none() -> None:
    assert parse_body(CONTENT_TYPE, multipart(("file", b"abc"))).model is None


@pytest.mark.parametrize(
    ("content_type", "body", "code"),
    [
        (b"application/json", b"{", "invalid_json"),
        (b"application/json", b'"text"', "invalid_json"),
        (b"application/json", b'{"model": ["a"]}', "invalid_model"),
        (b"multipart/form-data", b"--x\r\n", "invalid_multipart"),
        (
            CONTENT_TYPE,
            b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="model"',
            "invalid_multipart",
        ),
        (b"text/plain", b"hello", "unsupported_content_type"),
    ],
)
def test_it_rejects_bodies_it_cannot_read(content_type: bytes, body: bytes, code: str) -> None:
    with pytest.raises(ApiError) as raised:
        parse_body(content_type, body)

    assert raised.value.code == code


def test_renaming_keeps_every_other_byte() -> None:
    body = (
        b'{ "model" : "alias",\n  "messages": [{"role": "user", "content": "\\u00e9"}], "x": 1.50 }'
    )

    renamed = with_model(body, parse_body(b"application/json", body), "real")

    assert renamed == body.replace(b'"alias"', b'"real"')


def test_a_model_key_in_a_nested_object_is_left_alone() -> None:
    body = json.dumps({"model": "alias", "tools": [{"parameters": {"model": "alias"}}]}).encode()

    renamed = json.loads(with_model(body, parse_body(b"application/json", body), "real"))

    assert renamed["model"] == "real"
    assert renamed["tools"][0]["parameters"]["model"] == "alias"
