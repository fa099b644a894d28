"""Channel keys and addresses never reach a client: scrubbed first, cut after, in streams too."""

from __future__ import annotations

import json

from core.errors import upstream_error_message
from gateway.relay.sse import SSERewriter
from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import running_upstream
from tests.support.live_gateway import Gateway

CANARY = "sk-canary-7f3a9c2e5b1d4a6f8e0c2b4d6f8a0c2e4b6d8f0a"


def fragments(secret: str, size: int = 8) -> list[str]:
    """Every piece of the secret long enough to matter."""
    return [secret[i : i + size] for i in range(len(secret) - size + 1)]


def leaks(text: str, secret: str) -> list[str]:
    return [piece for piece in fragments(secret) if piece in text]


def test_a_key_across_the_cut_leaves_no_piece_behind() -> None:
    for offset in range(250, 300):
        text = ("x" * offset + CANARY + " was refused").encode()

        message = upstream_error_message(500, text, [CANARY])

        assert leaks(message, CANARY) == [], offset


def test_a_non_json_upstream_error_reaches_the_client_scrubbed(gateway: Gateway) -> None:
    with running_upstream(api_key=CANARY) as upstream:
        host = upstream.base_url.split("//")[1]
        prefix = "Bad gateway at " + upstream.v1 + "; "
        # The key starts 10 characters before the 300-character cut.
        text = prefix + "y" * (290 - len(prefix)) + CANARY + " refused"
        upstream.fail_with = (400, text.encode())
        make_channel(upstream)
        key = make_token().key

        response = gateway.post_chat(key)

    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert message.startswith("The upstream answered HTTP 400: Bad gateway at [redacted];")
    assert leaks(response.text, CANARY) == []
    assert host not in response.text


def error_event(upstream_v1: str) -> bytes:
    payload = {
        "error": {
            "message": f"Incorrect API key provided: {CANARY} at {upstream_v1}",
            "type": "invalid_request_error",
            "code": "invalid_api_key",
        }
    }
    return b"event: error\ndata: " + json.dumps(payload).encode() + b"\n\n"


def test_an_in_band_error_event_is_scrubbed_even_split_across_reads(gateway: Gateway) -> None:
    with running_upstream(api_key=CANARY) as upstream:
        host = upstream.base_url.split("//")[1]
        normal = b'data: {"choices": [{"delta": {"content": "see ' + host.encode() + b'"}}]}\n\n'
        event = error_event(upstream.v1)
        key_at = event.index(CANARY.encode()) + 10
        host_at = event.index(host.encode(), key_at) + 4
        upstream.stream_script = [
            normal,
            event[:key_at],
            event[key_at:host_at],
            event[host_at:],
            b"data: [DONE]\n\n",
        ]
        make_channel(upstream)
        key = make_token().key

        with gateway.stream_chat(key) as response:
            received = response.read().decode()

    assert response.status_code == 200
    error_line = next(line for line in received.splitlines() if '"error"' in line)
    assert json.loads(error_line[len("data: ") :])["error"]["message"] == (
        "Incorrect API key provided: [redacted] at [redacted]"
    )
    assert leaks(received, CANARY) == []
    # Only error events lose the address: a model may well talk about a host name.
    assert received.count(host) == 1
    assert received.endswith("data: [DONE]\n\n")


def test_the_key_is_scrubbed_from_any_stream_line() -> None:
    rewriter = SSERewriter(key=CANARY.encode())
    line = b'data: {"choices": [{"delta": {"content": "' + CANARY.encode() + b'"}}]}\n'

    out = rewriter.feed(line[:30]) + rewriter.feed(line[30:]) + rewriter.flush()

    assert out == line.replace(CANARY.encode(), b"[redacted]")


def test_normal_chunks_pass_through_unchanged() -> None:
    rewriter = SSERewriter(key=CANARY.encode(), secrets=[b"127.0.0.1"])
    chunks = [b'data: {"a": "127.0.0.1"}\n\n', b"data: [DO", b"NE]\n\n"]

    out = b"".join(rewriter.feed(chunk) for chunk in chunks) + rewriter.flush()

    assert out == b"".join(chunks)


def test_the_key_is_scrubbed_from_a_read_of_whole_lines() -> None:
    rewriter = SSERewriter(key=CANARY.encode())
    lines = b'data: {"choices": [{"delta": {"content": "' + CANARY.encode() + b'"}}]}\n\n'

    assert rewriter.feed(lines) == lines.replace(CANARY.encode(), b"[redacted]")
