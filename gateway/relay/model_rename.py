"""Answers carry the model name the client asked for, not the upstream's (after a mapping).

Used for whole JSON answers here and, event by event, by the SSE rewriter (sse.py).
"""

from __future__ import annotations

import orjson


def rename_model_in_json(content: bytes, model: str) -> bytes:
    """A JSON response body with `model` set to the name the client used."""
    try:
        payload = orjson.loads(content)
    except orjson.JSONDecodeError:
        return content
    if not rename_model(payload, model):
        return content
    return orjson.dumps(payload)


def rename_model(payload: object, model: str) -> bool:
    """Set the model name in a response object; the Responses API nests it one level down."""
    if not isinstance(payload, dict):
        return False
    renamed = False
    if isinstance(payload.get("model"), str):
        payload["model"] = model
        renamed = True
    # The Responses API's events and Anthropic's message_start nest the model one level down.
    for key in ("response", "message"):
        nested = payload.get(key)
        if isinstance(nested, dict) and isinstance(nested.get("model"), str):
            nested["model"] = model
            renamed = True
    return renamed
