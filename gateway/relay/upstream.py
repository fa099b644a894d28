"""The per-process upstream HTTP client and the headers that may cross to an upstream."""

from __future__ import annotations

import asyncio

import httpx
from django.conf import settings

# Keyed by loop id; the loop is kept beside its client so a dead loop's id is never reused.
_clients: dict[int, tuple[asyncio.AbstractEventLoop, httpx.AsyncClient]] = {}


def get_client() -> httpx.AsyncClient:
    """One pooled client per event loop (a worker process has one loop; tests make many)."""
    loop = asyncio.get_running_loop()
    entry = _clients.get(id(loop))
    client = entry[1] if entry is not None else None
    if client is None or client.is_closed:
        client = httpx.AsyncClient(
            timeout=httpx.Timeout(
                connect=settings.UPSTREAM_CONNECT_TIMEOUT,
                read=settings.UPSTREAM_READ_TIMEOUT,
                write=60.0,
                pool=settings.UPSTREAM_CONNECT_TIMEOUT,
            ),
            limits=httpx.Limits(
                max_connections=settings.UPSTREAM_MAX_CONNECTIONS,
                max_keepalive_connections=min(100, settings.UPSTREAM_MAX_CONNECTIONS),
                keepalive_expiry=30.0,
            ),
            follow_redirects=False,
            trust_env=False,
        )
        _clients[id(loop)] = (loop, client)
    return client


async def close_client() -> None:
    loop = asyncio.get_running_loop()
    entry = _clients.pop(id(loop), None)
    if entry is not None:
        await entry[1].aclose()


# Never forwarded upstream: hop-by-hop headers, the client's credentials and cookies, and
# the framing that httpx computes itself.
_DROP_REQUEST_HEADERS = frozenset(
    {
        b"host",
        b"connection",
        b"keep-alive",
        b"proxy-authorization",
        b"proxy-authenticate",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"content-length",
        b"authorization",
        b"x-api-key",
        b"api-key",
        b"cookie",
        b"accept-encoding",
        b"x-request-id",
        b"x-forwarded-for",
        b"x-forwarded-host",
        b"x-forwarded-proto",
        b"x-real-ip",
        b"forwarded",
    }
)

# Only these upstream response headers reach the client: the rest may name the upstream's
# organisation, its rate limits for our key, or its cookies.
PASSED_RESPONSE_HEADERS = frozenset(
    {
        "content-type",
        "content-disposition",
        "openai-processing-ms",
        "openai-version",
        "retry-after",
    }
)


def upstream_headers(
    client_headers: list[tuple[bytes, bytes]], api_key: str, request_id: str
) -> list[tuple[bytes, bytes]]:
    headers = [(name, value) for name, value in client_headers if name not in _DROP_REQUEST_HEADERS]
    headers.append((b"authorization", b"Bearer " + api_key.encode()))
    headers.append((b"x-request-id", request_id.encode()))
    # Identity: SSE must not be compressed, and a renamed model means reading the body.
    headers.append((b"accept-encoding", b"identity"))
    return headers


def client_response_headers(upstream: httpx.Headers) -> list[tuple[bytes, bytes]]:
    return [
        (name.encode(), value.encode("latin-1"))
        for name, value in upstream.items()
        if name in PASSED_RESPONSE_HEADERS
    ]
