"""Reading the model a request names, and swapping it for the upstream's name.

Bodies are passed through as they came; only the model name changes, and only when a
mapping renames it (JSON is then re-encoded, multipart is spliced byte for byte).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import orjson


class BodyError(ValueError):
    def __init__(self, message: str, *, code: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.param = param


@dataclass(slots=True)
class ParsedBody:
    model: str | None
    # For JSON bodies, the decoded object (re-encoded only if the model is renamed).
    payload: dict | None = None
    # For multipart bodies, where the model's value sits: body[start:end].
    model_span: tuple[int, int] | None = None


_BOUNDARY = re.compile(rb'boundary="?([^";]+)"?', re.IGNORECASE)
_MODEL_PART = re.compile(rb'content-disposition:[^\r\n]*\bname="model"', re.IGNORECASE)


def parse_body(content_type: bytes, body: bytes) -> ParsedBody:
    media_type = content_type.split(b";", 1)[0].strip().lower()
    if media_type == b"application/json" or (not media_type and body[:1] == b"{"):
        return _parse_json(body)
    if media_type == b"multipart/form-data":
        return _parse_multipart(content_type, body)
    if not body:
        return ParsedBody(model=None)
    raise BodyError(
        "Send the request body as application/json or multipart/form-data.",
        code="unsupported_content_type",
    )


def _parse_json(body: bytes) -> ParsedBody:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        try:
            # orjson refuses integers beyond 64 bits that the standard library accepts.
            payload = json.loads(body)
        except ValueError:
            raise BodyError("The request body is not valid JSON.", code="invalid_json") from None
    if not isinstance(payload, dict):
        raise BodyError("The request body must be a JSON object.", code="invalid_json")
    model = payload.get("model")
    if model is not None and not isinstance(model, str):
        raise BodyError("`model` must be a string.", code="invalid_model", param="model")
    return ParsedBody(model=model, payload=payload)


def _parse_multipart(content_type: bytes, body: bytes) -> ParsedBody:
    found = _BOUNDARY.search(content_type)
    if found is None:
        raise BodyError("The multipart body has no boundary.", code="invalid_multipart")
    delimiter = b"--" + found.group(1)
    position = 0
    while True:
        start = body.find(delimiter, position)
        if start < 0:
            return ParsedBody(model=None)
        headers_start = start + len(delimiter)
        if body[headers_start : headers_start + 2] == b"--":
            return ParsedBody(model=None)
        headers_end = body.find(b"\r\n\r\n", headers_start)
        if headers_end < 0:
            raise BodyError("The multipart body is cut short.", code="invalid_multipart")
        value_start = headers_end + 4
        value_end = body.find(b"\r\n" + delimiter, value_start)
        if value_end < 0:
            raise BodyError("The multipart body is cut short.", code="invalid_multipart")
        if _MODEL_PART.search(body, headers_start, headers_end):
            model = body[value_start:value_end].decode("utf-8", "replace").strip()
            return ParsedBody(model=model, model_span=(value_start, value_end))
        position = value_end


_MODEL_KEY = re.compile(rb'"model"\s*:\s*"')
_STRING_END = re.compile(rb'(?:[^"\\]|\\.)*"')


def _splice_json_model(body: bytes, old: str, new: str) -> bytes | None:
    """Replace the model's string literal in place, if it stands exactly once in the body.

    A string's content cannot hold an unescaped `"model":`, so a single match is the key
    itself; anything ambiguous (the same key in a nested object) returns None.
    """
    spans = []
    for key in _MODEL_KEY.finditer(body):
        end = _STRING_END.match(body, key.end())
        if end is None:
            return None
        literal = body[key.end() - 1 : end.end()]
        if json.loads(literal) == old:
            spans.append((key.end() - 1, end.end()))
    if len(spans) != 1:
        return None
    start, end = spans[0]
    return body[:start] + json.dumps(new, ensure_ascii=False).encode() + body[end:]


def with_model(body: bytes, parsed: ParsedBody, model: str) -> bytes:
    """The body with its model renamed; the same bytes when nothing changes."""
    if model == parsed.model:
        return body
    if parsed.payload is not None:
        spliced = _splice_json_model(body, parsed.model or "", model)
        if spliced is not None:
            return spliced
        # Re-encode with the standard library: orjson would turn huge integers into floats.
        payload = json.loads(body)
        payload["model"] = model
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    if parsed.model_span is not None:
        start, end = parsed.model_span
        return body[:start] + model.encode() + body[end:]
    return body
