from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from openai import OpenAI

from channels_admin.models import Channel
from channels_admin.services import channel_create
from gateway.asgi import build_application
from gateway.relay.app import RelayApp
from gateway.relay.cache import RelayCache
from tests.support.fake_upstream import FakeUpstream, running_upstream
from tests.support.servers import serve_asgi
from tokens.services import token_create


@dataclass
class Gateway:
    url: str
    relay: RelayApp
    clients: dict[str, OpenAI] = field(default_factory=dict)

    @property
    def v1(self) -> str:
        return self.url + "/v1"

    def client(self, key: str, **options: object) -> OpenAI:
        return OpenAI(base_url=self.v1, api_key=key, max_retries=0, timeout=30, **options)

    def cached_client(self, key: str) -> OpenAI:
        """One client per key, kept: for tests that send many requests."""
        if key not in self.clients:
            self.clients[key] = self.client(key)
        return self.clients[key]


@pytest.fixture
def gateway(transactional_db: None) -> Iterator[Gateway]:
    """The real ASGI app on a free port; the relay re-checks for admin changes on every request."""
    relay = RelayApp(
        cache=RelayCache(refresh_seconds=0, last_used_flush_seconds=0),
        rng=random.Random(1234),
    )
    # Lifespan on: the relay closes its upstream client when the server stops.
    with serve_asgi(build_application(relay), lifespan="on") as url:
        gateway = Gateway(url=url, relay=relay)
        yield gateway
        for client in gateway.clients.values():
            client.close()


@pytest.fixture
def second_upstream() -> Iterator[FakeUpstream]:
    with running_upstream(name="second", api_key="sk-second-upstream-key-abcdef0123456789") as fake:
        yield fake


def add_channel(upstream: FakeUpstream, **options: object) -> Channel:
    fields: dict[str, object] = {
        "name": upstream.name,
        "base_url": upstream.v1,
        "key": upstream.api_key,
        "models": ["gpt-4o-mini", "text-embedding-3-small"],
    }
    fields.update(options)
    return channel_create(**fields)  # type: ignore[arg-type]


def new_token(**options: object) -> str:
    fields: dict[str, object] = {"name": "test token"}
    fields.update(options)
    _, key = token_create(**fields)  # type: ignore[arg-type]
    return key
