"""Responses on their way back: the model name the client asked for, in JSON and in SSE."""

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
    nested = payload.get("response")
    if isinstance(nested, dict) and isinstance(nested.get("model"), str):
        nested["model"] = model
        renamed = True
    return renamed


class SSEModelRenamer:
    """Rewrites `model` in each `data:` event of a stream as the bytes pass through.

    Complete lines go out as soon as they arrive; only a line cut across two network reads
    waits for its end, so no chunk is held back longer than its own last line.
    """

    def __init__(self, model: str) -> None:
        self.model = model
        self._partial = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self._partial + chunk if self._partial else chunk
        cut = data.rfind(b"\n") + 1
        self._partial = data[cut:]
        if not cut:
            return b""
        return b"".join(self._rename(line) for line in data[:cut].splitlines(keepends=True))

    def flush(self) -> bytes:
        rest, self._partial = self._partial, b""
        return self._rename(rest) if rest else b""

    def _rename(self, line: bytes) -> bytes:
        if not line.startswith(b"data:") or b'"model"' not in line:
            return line
        body = line[5:].strip()
        ending = line[len(line.rstrip(b"\r\n")) :]
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return line
        if not rename_model(payload, self.model):
            return line
        return b"data: " + orjson.dumps(payload) + ending
