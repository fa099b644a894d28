"""Which headers cross between client and upstream, each way; nothing else does."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from core.errors import scrub_bytes

# The only client headers an upstream sees: what the body is, what the client accepts, and
# the SDK headers that change a request's meaning (betas, API versions) or describe the SDK.
# Everything else stays here, above all anything that carries a credential or selects an
# account (Authorization, api-key, x-api-key, x-goog-api-key, OpenAI-Organization,
# OpenAI-Project, cookies): the channel's key decides who pays, not the client.
FORWARDED_REQUEST_HEADERS = frozenset(
    {
        b"content-type",
        b"accept",
        b"user-agent",
        b"openai-beta",
        b"anthropic-version",
        b"anthropic-beta",
        b"idempotency-key",
    }
)
# The OpenAI SDKs' version and telemetry headers (x-stainless-lang, -package-version, -os,
# -retry-count, ...): harmless, and some upstreams log them.
FORWARDED_REQUEST_PREFIXES = (b"x-stainless-",)

# Only these upstream response headers reach the client: the rest may name the upstream's
# organisation, its rate limits for our key, or its cookies.
PASSED_RESPONSE_HEADERS = frozenset(
    {
        b"content-type",
        b"content-disposition",
        b"openai-processing-ms",
        b"openai-version",
        b"retry-after",
    }
)


def upstream_headers(
    client_headers: list[tuple[bytes, bytes]],
    credential: tuple[bytes, bytes],
    request_id: str,
    hops: tuple[bytes, bytes],
) -> list[tuple[bytes, bytes]]:
    """The client's headers that may cross, then the channel's `credential` header (its key,
    as the upstream's API takes it) and the relay's own."""
    headers = [
        (name, value)
        for name, value in client_headers
        if name in FORWARDED_REQUEST_HEADERS or name.startswith(FORWARDED_REQUEST_PREFIXES)
    ]
    headers.append(credential)
    headers.append((b"x-request-id", request_id.encode()))
    # Identity: SSE must not be compressed, and a renamed model means reading the body.
    headers.append((b"accept-encoding", b"identity"))
    headers.append(hops)
    return headers


def client_response_headers(
    upstream: httpx.Headers, secrets: Sequence[bytes]
) -> list[tuple[bytes, bytes]]:
    """The passed headers, as raw bytes (no re-encoding can fail), secrets scrubbed out."""
    return [
        (name.lower(), scrub_bytes(value, secrets))
        for name, value in upstream.raw
        if name.lower() in PASSED_RESPONSE_HEADERS
    ]
