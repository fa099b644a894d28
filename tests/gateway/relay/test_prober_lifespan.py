"""The recovery prober runs inside the server: started with the relay, stopped with it."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import pytest

from gateway.asgi import build_application
from gateway.relay.app import RelayApp
from gateway.relay.cache import RelayCache
from tests.support.servers import serve_asgi


class FakeProber:
    def __init__(self) -> None:
        self.started = threading.Event()
        self.stopped = threading.Event()

    async def __call__(self, stop: asyncio.Event) -> None:
        self.started.set()
        await stop.wait()
        self.stopped.set()


@pytest.fixture
def fake_prober(monkeypatch: pytest.MonkeyPatch) -> FakeProber:
    prober = FakeProber()
    monkeypatch.setattr("channels_admin.prober.run_prober", prober)
    return prober


def serve(relay: RelayApp) -> Any:
    return serve_asgi(build_application(relay), lifespan="on")


def test_the_prober_starts_and_stops_with_the_server(
    transactional_db: None, fake_prober: FakeProber, settings: Any
) -> None:
    settings.PROBER = True
    with serve(RelayApp(cache=RelayCache(refresh_seconds=0))):
        assert fake_prober.started.wait(timeout=10)
        assert not fake_prober.stopped.is_set()
    assert fake_prober.stopped.is_set()


def test_the_prober_setting_off_means_no_prober(
    transactional_db: None, fake_prober: FakeProber, settings: Any
) -> None:
    settings.PROBER = False
    with serve(RelayApp(cache=RelayCache(refresh_seconds=0))) as url:
        assert httpx.get(url + "/healthz", timeout=30).status_code == 200
    assert not fake_prober.started.is_set()
