from __future__ import annotations

import json

from gateway.relay.model_rename import rename_model_in_json
from gateway.relay.sse import SSERewriter


def event(model: str, text: str) -> bytes:
    return (
        b"data: "
        + json.dumps({"model": model, "choices": [{"delta": {"content": text}}]}).encode()
        + b"\n\n"
    )


def test_complete_events_pass_at_once_with_the_model_renamed() -> None:
    renamer = SSERewriter("alias")

    out = renamer.feed(event("upstream", "hi"))

    assert out.startswith(b"data: ")
    assert json.loads(out[6:].strip())["model"] == "alias"
    assert json.loads(out[6:].strip())["choices"][0]["delta"]["content"] == "hi"


def test_an_event_split_across_reads_is_renamed_once_whole() -> None:
    renamer = SSERewriter("alias")
    whole = event("upstream", "split") + b"data: [DONE]\n\n"

    pieces = [renamer.feed(whole[:17]), renamer.feed(whole[17:40]), renamer.feed(whole[40:])]
    out = b"".join(pieces) + renamer.flush()

    assert pieces[0] == b""  # nothing complete yet: held, not guessed at
    assert b'"model":"alias"' in out
    assert b"upstream" not in out
    assert out.endswith(b"data: [DONE]\n\n")


def test_other_lines_are_untouched() -> None:
    renamer = SSERewriter("alias")
    lines = b": keep-alive\n\nevent: ping\ndata: [DONE]\n\n"

    assert renamer.feed(lines) == lines


def test_responses_api_events_rename_the_nested_model() -> None:
    renamer = SSERewriter("alias")
    line = b'data: {"type":"response.created","response":{"model":"upstream"}}\n\n'

    out = renamer.feed(line)

    assert json.loads(out[6:])["response"]["model"] == "alias"


def test_json_bodies_get_the_requested_name() -> None:
    body = b'{"id": "x", "model": "upstream", "choices": []}'

    assert json.loads(rename_model_in_json(body, "alias"))["model"] == "alias"
    assert rename_model_in_json(b"not json", "alias") == b"not json"
