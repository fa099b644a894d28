"""Reading the model a request names, and swapping it for the upstream's name.

Bodies are passed through as they came; only the model name changes, and only when a
mapping renames it (JSON is then re-encoded, multipart is spliced byte for byte).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson

from core.errors import ApiError


@dataclass(slots=True)
class ParsedBody:
    model: str | None
    # For JSON bodies, the decoded object (re-encoded only if the model is renamed).
    payload: dict[str, Any] | None = None
    # For multipart bodies, where the model's value sits: body[start:end].
    model_span: tuple[int, int] | None = None


# What a request's parsed body becomes once no other channel will be tried (a stream that
# began): its decoded form is let go; the relay needs nothing of it any more.
RELEASED_BODY = ParsedBody(model=None)

# A model name longer than this is no model name; it would only bloat error messages.
MAX_MODEL_LENGTH = 256
_BAD_MODEL_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# Every JSON spelling of the key "model" with an escape holds this (m, o, d, e and l are
# U+0064..U+006F); JSON writers never escape plain letters, so real bodies lack it.
_ESCAPED_MODEL_HINT = b"\\u006"

_BOUNDARY = re.compile(rb'(?:^|;)\s*boundary\s*=\s*(?:"([^"]*)"|([^\s;"]+))', re.IGNORECASE)
_DISPOSITION = re.compile(rb"content-disposition\s*:([^\r\n]*)", re.IGNORECASE)
_NAME_PARAM = re.compile(rb'(?:^|;)\s*name(\*?)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;]*))', re.I)
_QUOTED_PAIR = re.compile(rb"\\(.)")


def parse_body(content_type: bytes, body: bytes) -> ParsedBody:
    media_type = content_type.split(b";", 1)[0].strip().lower()
    if media_type == b"application/json" or (not media_type and body[:1] == b"{"):
        return _parse_json(body)
    if media_type == b"multipart/form-data":
        return _parse_multipart(content_type, body)
    if not body:
        return ParsedBody(model=None)
    raise ApiError(
        400,
        "Send the request body as application/json or multipart/form-data.",
        code="unsupported_content_type",
    )


def parse_json_payload(body: bytes) -> dict[str, Any] | None:
    """The JSON object `body` holds, None if it holds none (for a body parsed once before)."""
    try:
        return _parse_json(body).payload
    except ApiError:
        return None


def _parse_json(body: bytes) -> ParsedBody:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        # orjson refuses integers beyond 64 bits and lone surrogates that the standard
        # library accepts (and refuses nesting deeper than 1024, which it may not).
        payload = _stdlib_loads(body)
    if not isinstance(payload, dict):
        raise ApiError(400, "The request body must be a JSON object.", code="invalid_json")
    # Cheap byte checks first: only a body that could name its model twice is parsed again.
    # find, not `in` (core.errors.scrub_bytes says why): this runs on every request.
    twice = body.count(b'"model"') > 1 or body.find(_ESCAPED_MODEL_HINT) >= 0
    if twice and _names_model_twice(body):
        raise ApiError(
            400,
            "The request body names `model` more than once.",
            code="duplicate_model",
            param="model",
        )
    model = payload.get("model")
    if model is not None and not isinstance(model, str):
        raise ApiError(400, "`model` must be a string.", code="invalid_model", param="model")
    if model is not None:
        _check_model_name(model)
    return ParsedBody(model=model, payload=payload)


def _stdlib_loads(body: bytes, **options: Any) -> Any:
    try:
        # Decoded here: given bytes, json.loads would also take UTF-16 and UTF-32, which
        # neither orjson nor the byte checks above read, nor every upstream.
        return json.loads(body.decode("utf-8"), **options)
    except RecursionError:
        raise ApiError(400, "The request body is nested too deeply.", code="invalid_json") from None
    except ValueError:
        raise ApiError(400, "The request body is not valid JSON.", code="invalid_json") from None


def _names_model_twice(body: bytes) -> bool:
    """Whether the top-level object has the key "model" more than once, in any spelling."""
    counts: list[int] = []

    def count_model_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        counts.append(sum(1 for key, _ in pairs if key == "model"))
        return {}  # the values are not needed: keep nothing

    _stdlib_loads(body, object_pairs_hook=count_model_keys)
    # Objects close innermost first: the top-level object is the last one.
    return bool(counts) and counts[-1] > 1


def _check_model_name(model: str) -> None:
    if len(model) > MAX_MODEL_LENGTH:
        raise ApiError(
            400,
            f"`model` is longer than {MAX_MODEL_LENGTH} characters.",
            code="invalid_model",
            param="model",
        )
    if _BAD_MODEL_CHARS.search(model):
        raise ApiError(
            400,
            "`model` holds a control character or an unpaired surrogate.",
            code="invalid_model",
            param="model",
        )


def _parse_multipart(content_type: bytes, body: bytes) -> ParsedBody:
    boundaries = _BOUNDARY.findall(content_type)
    if len(boundaries) != 1 or not (boundaries[0][0] or boundaries[0][1]):
        raise ApiError(
            400, "The multipart body needs exactly one boundary.", code="invalid_multipart"
        )
    delimiter = b"--" + (boundaries[0][0] or boundaries[0][1])
    model_spans: list[tuple[int, int]] = []
    separators = 0
    position = 0
    while True:
        start = body.find(delimiter, position)
        if start < 0:
            break
        headers_start = start + len(delimiter)
        if body[headers_start : headers_start + 2] == b"--":
            if body.find(delimiter, headers_start) >= 0:
                raise ApiError(
                    400, "The multipart body has parts after its end.", code="invalid_multipart"
                )
            break
        headers_end = body.find(b"\r\n\r\n", headers_start)
        if headers_end < 0:
            raise ApiError(400, "The multipart body is cut short.", code="invalid_multipart")
        value_start = headers_end + 4
        value_end = body.find(b"\r\n" + delimiter, value_start)
        if value_end < 0:
            raise ApiError(400, "The multipart body is cut short.", code="invalid_multipart")
        separators += 1
        part_headers = body[headers_start:headers_end]
        if delimiter in part_headers or _has_bare_newline(part_headers):
            # Read differently by lenient parsers: one part's headers could hide another.
            raise ApiError(
                400, "The multipart body has malformed part headers.", code="invalid_multipart"
            )
        if _names_model(part_headers):
            model_spans.append((value_start, value_end))
        position = value_end
    # A delimiter after a bare LF is a part boundary to some parsers and not to us.
    first = body.find(delimiter)
    expected = separators + (1 if first > 0 and body[first - 1] == 0x0A else 0)
    if body.count(b"\n" + delimiter) != expected:
        raise ApiError(
            400, "The multipart body has malformed line endings.", code="invalid_multipart"
        )
    if not model_spans:
        return ParsedBody(model=None)
    if len(model_spans) > 1:
        raise ApiError(
            400,
            "The request body names `model` more than once.",
            code="duplicate_model",
            param="model",
        )
    value_start, value_end = model_spans[0]
    try:
        model = body[value_start:value_end].decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ApiError(
            400, "`model` is not valid UTF-8.", code="invalid_model", param="model"
        ) from None
    _check_model_name(model)
    return ParsedBody(model=model, model_span=(value_start, value_end))


def _has_bare_newline(data: bytes) -> bool:
    return data.count(b"\n") != data.count(b"\r\n")


def _names_model(part_headers: bytes) -> bool:
    """Whether a part's Content-Disposition names it `model`, however that is spelled."""
    for disposition in _DISPOSITION.finditer(part_headers):
        for extended, quoted, plain in _NAME_PARAM.findall(disposition.group(1)):
            name = _QUOTED_PAIR.sub(rb"\1", quoted) if quoted else plain
            if extended:
                # RFC 5987: charset'language'percent-encoded-value
                name = unquote_to_bytes(name.rsplit(b"'", 1)[-1])
            if name.strip().lower() == b"model":
                return True
    return False


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
        try:
            value = json.loads(literal)
        except ValueError:
            return None
        if value == old:
            spans.append((key.end() - 1, end.end()))
    if len(spans) != 1:
        return None
    first, last = spans[0]
    return body[:first] + json.dumps(new, ensure_ascii=False).encode() + body[last:]


def with_model(body: bytes, parsed: ParsedBody, model: str) -> bytes:
    """The body with its model renamed; the same bytes when nothing changes."""
    if model == parsed.model:
        return body
    if parsed.payload is not None:
        # With an escaped spelling of the key about, the one plain `"model"` found may be a
        # nested one: only re-encoding is sure to rename the top-level key.
        spliced = (
            None
            if _ESCAPED_MODEL_HINT in body
            else _splice_json_model(body, parsed.model or "", model)
        )
        if spliced is not None:
            return spliced

        def rename(payload: dict[str, Any]) -> None:
            payload["model"] = model

        return reencoded(body, rename)
    if parsed.model_span is not None:
        start, end = parsed.model_span
        return body[:start] + model.encode() + body[end:]
    return body


def reencoded(body: bytes, change: Callable[[dict[str, Any]], None]) -> bytes:
    """A JSON object body decoded, changed by `change`, and encoded again compactly."""
    # The standard library both ways: orjson would turn huge integers into floats.
    payload = _stdlib_loads(body)
    change(payload)
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode()
    except UnicodeEncodeError:
        # A lone surrogate in the client's text: keep it, escaped, as the client sent it.
        return json.dumps(payload, separators=(",", ":")).encode()
