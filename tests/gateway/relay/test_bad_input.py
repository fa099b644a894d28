"""No input makes a 500: bad requests get a 4xx, a broken upstream a 502 after failover."""

from __future__ import annotations

import json

import pytest

from gateway.relay.bodies import parse_body, with_model
from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream, running_upstream
from tests.support.live_gateway import Gateway
from tests.support.servers import raw_request

JSON = "application/json"
BOUNDARY = "b0undary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def model_part(value: bytes) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="model"\r\n\r\n'.encode()
        + value
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def test_a_body_nested_thousands_deep_is_a_400(gateway: Gateway, upstream: FakeUpstream) -> None:
    make_channel(upstream)
    key = make_token().key
    deep = b'{"model": "gpt-4o-mini", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    status, payload = gateway.post_raw(key, deep)

    assert status == 400
    assert payload["error"]["code"] == "invalid_json"
    assert upstream.requests == []


@pytest.mark.parametrize("model", [b'"\\ud800"', b'"gpt-4o-mini\\udfff"', b'"\\udc00\\ud800"'])
def test_a_lone_surrogate_in_the_model_is_a_clean_400(
    gateway: Gateway, upstream: FakeUpstream, model: bytes
) -> None:
    make_channel(upstream)
    key = make_token().key

    status, payload = gateway.post_raw(key, b'{"model": ' + model + b', "messages": []}')

    assert status == 400
    assert payload["error"]["code"] == "invalid_model"
    assert payload["error"]["param"] == "model"


def test_a_lone_surrogate_elsewhere_survives_a_model_rename() -> None:
    body = b'{"model": "alias", "tools": [{"model": "alias"}], "input": "\\ud800"}'

    renamed = with_model(body, parse_body(JSON.encode(), body), "real")

    assert json.loads(renamed) == {
        "model": "real",
        "tools": [{"model": "alias"}],
        "input": "\ud800",
    }


@pytest.mark.parametrize("target", [b"/v1/chat/completions%00", b"/v1/chat/completions%0D%0A"])
def test_control_characters_in_the_path_are_a_400(gateway: Gateway, target: bytes) -> None:
    status, payload = gateway.post_raw(make_token().key, b"{}", target=target)

    assert status == 400
    assert payload["error"]["code"] == "invalid_path"


def test_an_answer_cut_short_fails_over_to_the_next_channel(
    gateway: Gateway, second_upstream: FakeUpstream
) -> None:
    with running_upstream(truncate=True) as cut:
        make_channel(cut, priority=1)
        make_channel(second_upstream)
        key = make_token().key

        reply = gateway.client(key).chat.completions.create(model="gpt-4o-mini", messages=[])

    assert len(cut.requests) == 1
    assert reply.choices[0].message.content == "hello from second"


def test_an_answer_cut_short_on_the_last_channel_is_a_502(gateway: Gateway) -> None:
    with running_upstream(truncate=True) as cut:
        make_channel(cut)
        key = make_token().key

        response = gateway.post_chat(key)

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_error"


# (what it is, raw request target, content type, body, extra headers)
HOSTILE_REQUESTS: list[tuple[str, bytes, str, bytes, dict[str, str]]] = [
    ("deep arrays", b"/v1/chat/completions", JSON, b"[" * 200_000 + b"]" * 200_000, {}),
    ("deep objects", b"/v1/chat/completions", JSON, b'{"a":' * 5000 + b"1" + b"}" * 5000, {}),
    ("unclosed", b"/v1/chat/completions", JSON, b"[" * 200_000, {}),
    ("surrogate model", b"/v1/chat/completions", JSON, b'{"model": "\\ud800"}', {}),
    ("NUL model", b"/v1/chat/completions", JSON, b'{"model": "gpt-4o-mini\\u0000"}', {}),
    ("CRLF model", b"/v1/chat/completions", JSON, b'{"model": "a\\r\\nX-Evil: 1"}', {}),
    ("huge model", b"/v1/chat/completions", JSON, b'{"model": "' + b"m" * 100_000 + b'"}', {}),
    ("number model", b"/v1/chat/completions", JSON, b'{"model": 4}', {}),
    ("object model", b"/v1/chat/completions", JSON, b'{"model": {"a": 1}}', {}),
    ("invalid utf-8", b"/v1/chat/completions", JSON, b'{"model": "\xff\xfe"}', {}),
    ("NaN", b"/v1/chat/completions", JSON, b'{"model": "gpt-4o-mini", "x": NaN}', {}),
    (
        "huge integer",
        b"/v1/chat/completions",
        JSON,
        b'{"model": "gpt-4o-mini", "seed": 1' + b"0" * 5000 + b"}",
        {},
    ),
    ("empty json", b"/v1/chat/completions", JSON, b"", {}),
    ("json null", b"/v1/chat/completions", JSON, b"null", {}),
    ("json string", b"/v1/chat/completions", JSON, b'"\\ud800"', {}),
    ("duplicate model", b"/v1/chat/completions", JSON, b'{"model": "a", "model": "b"}', {}),
    (
        "utf-16",
        b"/v1/chat/completions",
        JSON + "; charset=utf-16",
        '{"model": "x"}'.encode("utf-16"),
        {},
    ),
    ("no boundary", b"/v1/audio/transcriptions", "multipart/form-data", model_part(b"x"), {}),
    (
        "empty boundary",
        b"/v1/audio/transcriptions",
        'multipart/form-data; boundary=""',
        b"--\r\n",
        {},
    ),
    ("cut multipart", b"/v1/audio/transcriptions", MULTIPART, model_part(b"x")[:40], {}),
    ("bad utf-8 part", b"/v1/audio/transcriptions", MULTIPART, model_part(b"\xff\xfe"), {}),
    ("NUL part", b"/v1/audio/transcriptions", MULTIPART, model_part(b"whisper\x00"), {}),
    (
        "long boundary",
        b"/v1/audio/transcriptions",
        "multipart/form-data; boundary=" + "a" * 10_000,
        b"x",
        {},
    ),
    ("text body", b"/v1/chat/completions", "text/plain", b"hello", {}),
    ("NUL in path", b"/v1/chat/completions%00", JSON, b"{}", {}),
    ("CRLF in path", b"/v1/chat/completions%0D%0AX-Evil:%201", JSON, b"{}", {}),
    ("bad utf-8 path", b"/v1/chat/%ff", JSON, b"{}", {}),
    ("NUL model id", b"/v1/models/%00", JSON, b"", {}),
    ("bad model id", b"/v1/models/%ff%fe", JSON, b"", {}),
    ("emoji model id", b"/v1/models/%F0%9F%98%80", JSON, b"", {}),
    ("dot segments", b"/v1/../../etc/passwd", JSON, b"{}", {}),
    ("hop overflow", b"/v1/chat/completions", JSON, b"{}", {"X-Tollgate-Hops": "9" * 50}),
    (
        "hop junk",
        b"/v1/chat/completions",
        JSON,
        b'{"model": "gpt-4o-mini"}',
        {"X-Tollgate-Hops": "x"},
    ),
    ("odd request id", b"/v1/chat/completions", JSON, b"{}", {"X-Request-Id": "é<>" * 300}),
]


def test_no_hostile_input_gets_a_500(gateway: Gateway, upstream: FakeUpstream) -> None:
    make_channel(upstream, models=["gpt-4o-mini", "whisper-1"])
    key = make_token().key
    wrong = []

    for what, target, content_type, body, headers in HOSTILE_REQUESTS:
        method = b"GET" if target.startswith(b"/v1/models") else b"POST"
        status, payload = gateway.post_raw(
            key, body, content_type=content_type, target=target, method=method, **headers
        )
        if status >= 500 and status not in {502, 503, 504, 508}:
            wrong.append((what, status, payload))
        elif status >= 400 and set(payload.get("error", {})) != {
            "message",
            "type",
            "param",
            "code",
        }:
            wrong.append((what, status, payload))

    assert wrong == []


def test_odd_authorization_headers_are_a_401(gateway: Gateway) -> None:
    for value in ["Bearer \xff\xfe", "Bearer sk-" + "\xe9" * 60, "Basic abc", "Bearer"]:
        answer = raw_request(
            gateway.url,
            b"/v1/chat/completions",
            headers={"Authorization": value, "Content-Type": JSON},
            body=b"{}",
        )
        assert answer.status == 401, value
        assert json.loads(answer.body)["error"]["code"] == "invalid_api_key"
