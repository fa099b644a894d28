"""Which /v1 paths the relay accepts, and the clean path it sends upstream.

The path is read from the bytes the client sent (`raw_path`), not from the server's decoded
copy: `%2e%2e` and `%2f` only look harmless after decoding. A forwarded path is rebuilt from
validated segments of a small character set, so nothing in it can be normalised into a
different path by httpx, yarl or the upstream: no dot segments, no slashes or backslashes of
any spelling, no empty segments, no control characters, no percent signs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote_to_bytes

from core.errors import ApiError

# RFC 3986 pchar, as the OpenAI SDK quotes a path parameter.
_RAW_SEGMENT = re.compile(rb"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})+")
# What a forwarded segment may hold once decoded. No `;` (Tomcat-style `..;` tricks), `%`
# (double decoding), `\` or `/`, and nothing that needs quoting, so the upstream sees
# exactly these characters.
_FORWARDABLE = re.compile(r"[A-Za-z0-9\-_.~:@+=,]+")
# C0, DEL and C1 controls, and the backslash some servers read as a slash.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\\]")
_ALL_DOTS = re.compile(r"\.+")
# Query strings pass through as sent: printable ASCII only, no fragment.
_QUERY = re.compile(rb"[!\"$-~]*")
# A deployment sees few distinct paths; remembering them keeps the check off the hot path.
_CACHE_LIMIT = 512


def invalid_path(message: str) -> ApiError:
    return ApiError(400, message, code="invalid_path")


@dataclass(frozen=True, slots=True)
class RelayPath:
    segments: tuple[str, ...]  # decoded, after /v1
    # Rebuilt from the segments; None when a segment may not go upstream (only the local
    # /models/{id} route accepts one, for model ids with a slash or unusual characters).
    upstream: str | None

    @property
    def text(self) -> str:
        return "/" + "/".join(self.segments)

    @property
    def is_models(self) -> bool:
        return bool(self.segments) and self.segments[0] == "models"


_cache: dict[bytes, RelayPath] = {}


def relay_path(raw_path: bytes | None, decoded_path: str) -> RelayPath:
    """The validated path after /v1; raises ApiError (400 `invalid_path`) if at all ambiguous."""
    raw = raw_path if raw_path is not None else quote(decoded_path, safe="/").encode()
    path = _cache.get(raw)
    if path is None:
        path = _parse(raw)
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        _cache[raw] = path
    expected = ("/v1" + path.text,) if path.segments else ("/v1", "/v1/")
    if decoded_path not in expected:
        # The server decoded the path differently from us: refuse rather than guess.
        raise invalid_path("The request path is malformed.")
    return path


def check_query(query: bytes) -> None:
    if query and not _QUERY.fullmatch(query):
        raise invalid_path("The query string holds characters that are not allowed.")


def _parse(raw: bytes) -> RelayPath:
    if raw in (b"/v1", b"/v1/"):
        return RelayPath(segments=(), upstream=None)
    if not raw.startswith(b"/v1/"):
        raise invalid_path("The request path must start with /v1/ as plain text.")
    raw_segments = raw[4:].split(b"/")
    # GET /v1/models/{id} is answered here, never forwarded: its id may hold more.
    local_models = raw_segments[0] == b"models"
    segments = []
    for index, raw_segment in enumerate(raw_segments):
        if not raw_segment:
            raise invalid_path("The request path has an empty segment (`//` or a trailing `/`).")
        if not _RAW_SEGMENT.fullmatch(raw_segment):
            raise invalid_path("The request path holds characters that are not allowed.")
        segment = _decode(raw_segment)
        if _ALL_DOTS.fullmatch(segment):
            raise invalid_path("The request path has a dot segment (`.` or `..`).")
        if _UNSAFE.search(segment):
            raise invalid_path("The request path holds a control character or a backslash.")
        if "%" in segment:
            raise invalid_path("The request path holds an encoded percent sign.")
        if "/" in segment and not (local_models and index > 0):
            raise invalid_path("The request path holds an encoded slash.")
        segments.append(segment)
    forwardable = all(_FORWARDABLE.fullmatch(segment) for segment in segments)
    if not forwardable and not local_models:
        raise invalid_path("The request path holds characters that are not allowed.")
    upstream = "/" + "/".join(segments) if forwardable else None
    return RelayPath(segments=tuple(segments), upstream=upstream)


def _decode(raw_segment: bytes) -> str:
    if b"%" not in raw_segment:
        return raw_segment.decode("ascii")
    try:
        return unquote_to_bytes(raw_segment).decode("utf-8")
    except UnicodeDecodeError:
        raise invalid_path("The request path is not valid UTF-8.") from None
