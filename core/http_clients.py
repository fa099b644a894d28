"""The per-process pooled HTTP clients to upstreams: one for the relay, one for the admin."""

from __future__ import annotations

import asyncio

# uvloop's sock_connect encodes the upstream's host name with this codec, which Python
# imports on first use: inside a worker's first upstream connection, where reading it from
# a cold disk held up the loop for 120 ms (a stall sampler under `make bench`). Imported
# here, it is loaded in the master before the workers fork.
import encodings.idna  # noqa: F401
import ssl
from collections.abc import Callable
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Generic, TypeVar

import aiohttp
import httpx
from django.conf import settings
from httpx_aiohttp import AiohttpTransport

_TIMEOUT_WRITE_SECONDS = 60.0
# What sending to or reading from an upstream can raise: httpx's errors, and aiohttp's that
# httpx-aiohttp does not translate (a malformed status line or header, say).
UPSTREAM_ERRORS = (httpx.HTTPError, aiohttp.ClientError)


def _timeout() -> httpx.Timeout:
    # Defaults only: the relay passes each channel's own timeouts with every request and
    # enforces first byte, stream idle and total itself (gateway/relay/forward.py).
    return httpx.Timeout(
        connect=settings.CONNECT_TIMEOUT,
        read=max(settings.FIRST_BYTE_TIMEOUT, settings.STREAM_IDLE_TIMEOUT),
        write=_TIMEOUT_WRITE_SECONDS,
        pool=settings.CONNECT_TIMEOUT,
    )


def _no_cookies() -> CookieJar:
    # Upstream cookies would be shared by every token that lands on that channel.
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def _aiohttp_session(tls: ssl.SSLContext) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        limit=settings.UPSTREAM_MAX_CONNECTIONS, keepalive_timeout=30.0, ssl=tls
    )
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())


def _relay_transport() -> httpx.AsyncBaseTransport:
    # httpx's API over aiohttp's transport: measured with `make bench`, it costs about a third
    # of httpcore's CPU per request, and its pool does not slow down as connections grow.
    # The relay sends through the transport itself, not an httpx.AsyncClient: the client's
    # layers (auth, redirects, cookies, event hooks) do nothing the relay wants, and cost it
    # about 40 µs of CPU a request (`make bench`). Without the client no redirect is followed
    # and no cookie is kept, as the relay requires.
    # One TLS context for the transport and its session: each loads the CA bundle (about
    # 50 ms and 1 MB here), and the transport used to load one of its own that nothing used.
    tls = httpx.create_ssl_context()
    return AiohttpTransport(verify=tls, client=lambda: _aiohttp_session(tls))


def _admin_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=_timeout(),
        limits=httpx.Limits(max_connections=50, keepalive_expiry=30.0),
        cookies=_no_cookies(),
        follow_redirects=False,
        trust_env=False,
    )


Pooled = TypeVar("Pooled", httpx.AsyncClient, httpx.AsyncBaseTransport)


class _PerLoop(Generic[Pooled]):
    """One pool per event loop: a worker process has one loop; tests make many.

    The loop is kept beside its pool so that a dead loop's id is never reused.
    """

    def __init__(self, make: Callable[[], Pooled]) -> None:
        self._make: Callable[[], Pooled] = make
        self._pools: dict[int, tuple[asyncio.AbstractEventLoop, Pooled]] = {}

    def get(self) -> Pooled:
        loop = asyncio.get_running_loop()
        entry = self._pools.get(id(loop))
        # Only a client can be closed (a transport cannot): asked without getattr's default,
        # whose failed lookup makes and drops an AttributeError on every request.
        if entry is None or (isinstance(entry[1], httpx.AsyncClient) and entry[1].is_closed):
            entry = self._pools[id(loop)] = (loop, self._make())
        return entry[1]

    async def close(self) -> None:
        entry = self._pools.pop(id(asyncio.get_running_loop()), None)
        if entry is not None:
            await entry[1].aclose()


_relay: _PerLoop[httpx.AsyncBaseTransport] = _PerLoop(_relay_transport)
# The admin's channel tests and model lists keep out of the relay's pool, so a slow upstream
# being tested never holds connections the relay needs.
_admin: _PerLoop[httpx.AsyncClient] = _PerLoop(_admin_client)
get_relay_transport = _relay.get
get_admin_client = _admin.get


async def close_clients() -> None:
    await _relay.close()
    await _admin.close()
