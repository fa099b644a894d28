"""The whole gateway (admin pages and /v1) served on a free loopback port, for relay tests."""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from openai import OpenAI

from gateway.asgi import build_application
from gateway.bounded_http import bounded_protocol
from gateway.relay.app import RelayApp
from gateway.relay.cache import RelayCache
from tests.support.servers import raw_request, serve_asgi


class CountingApp:
    """Wraps the ASGI app to count HTTP requests started and finished (the app returned)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.started = 0
        self.finished = 0
        self._changed = threading.Condition()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with self._changed:
            self.started += 1
        try:
            await self.app(scope, receive, send)
        finally:
            with self._changed:
                self.finished += 1
                self._changed.notify_all()

    def wait_finished(self, count: int) -> None:
        """Block until `count` requests have finished, so their slots are free again."""
        with self._changed:
            assert self._changed.wait_for(lambda: self.finished >= count, timeout=30)


@dataclass
class Gateway:
    url: str
    relay: RelayApp
    clients: dict[str, OpenAI] = field(default_factory=dict)
    # Requests the server has started and finished (only when served by serving_gateway).
    requests: CountingApp = field(default_factory=lambda: CountingApp(None))

    @property
    def v1(self) -> str:
        return self.url + "/v1"

    def client(self, key: str, **options: Any) -> OpenAI:
        return OpenAI(base_url=self.v1, api_key=key, max_retries=0, timeout=30, **options)

    def cached_client(self, key: str) -> OpenAI:
        """One client per key, kept: for tests that send many requests."""
        if key not in self.clients:
            self.clients[key] = self.client(key)
        return self.clients[key]

    def post_chat(
        self, key: str, *, headers: dict[str, str] | None = None, **body: Any
    ) -> httpx.Response:
        """POST /v1/chat/completions with `key` as plain HTTP, to see the raw answer.

        The body is a minimal chat request for gpt-4o-mini; `body` adds or replaces fields.
        """
        return httpx.post(
            self.v1 + "/chat/completions",
            headers={"Authorization": f"Bearer {key}", **(headers or {})},
            json={"model": "gpt-4o-mini", "messages": [], **body},
            timeout=30,
        )

    @contextmanager
    def stream_chat(self, key: str, **body: Any) -> Iterator[httpx.Response]:
        """A streamed chat completion as plain HTTP, open while the block runs; leaving the
        block closes the connection, as a client that goes away does."""
        with httpx.stream(
            "POST",
            self.v1 + "/chat/completions",
            headers={"Authorization": f"Bearer {key}"},
            json={"model": "gpt-4o-mini", "messages": [], "stream": True, **body},
            timeout=30,
        ) as response:
            yield response

    def post_raw(
        self,
        key: str,
        body: bytes,
        *,
        content_type: str = "application/json",
        target: bytes = b"/v1/chat/completions",
        method: bytes = b"POST",
        **headers: str,
    ) -> tuple[int, dict[str, Any]]:
        """Send `body` to `target` byte for byte (no client tidies it); the status and the
        JSON answer ({} when the answer is not JSON)."""
        answer = raw_request(
            self.url,
            target,
            method=method,
            headers={"Authorization": f"Bearer {key}", "Content-Type": content_type, **headers},
            body=body,
        )
        try:
            payload = json.loads(answer.body)
        except ValueError:
            payload = {}
        return answer.status, payload

    def drain_rechecks(self) -> None:
        """Wait, on the server's own loop, for every 401 recheck the relay has started."""
        loop = self.relay.rechecks.loop
        if loop is not None:
            asyncio.run_coroutine_threadsafe(self.relay.rechecks.drain(), loop).result(timeout=60)


@contextmanager
def serving_gateway(**relay_options: Any) -> Iterator[Gateway]:
    """The real ASGI app on a free port; the relay re-checks for admin changes on every request."""
    relay_options.setdefault("rng", random.Random(1234))
    # The recovery prober runs on its own schedule: only tests of it turn it on.
    relay_options.setdefault("prober", False)
    # Retention deletes old records at start: tests that date records in the past say so.
    relay_options.setdefault("retention", False)
    relay = RelayApp(cache=RelayCache(refresh_seconds=0), **relay_options)
    counting = CountingApp(build_application(relay))
    # Lifespan on: the relay closes its upstream client when the server stops. Served by
    # Tollgate's own protocol, as gunicorn serves it (a lost connection cancels at once).
    protocol = bounded_protocol(header_timeout=10.0, body_timeout=60.0, max_header_bytes=65536)
    with serve_asgi(counting, lifespan="on", http=protocol) as url:
        gateway = Gateway(url=url, relay=relay, requests=counting)
        try:
            yield gateway
        finally:
            for client in gateway.clients.values():
                client.close()
