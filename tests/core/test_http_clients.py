"""The relay's upstream pool loads the system's CA bundle once, not once per layer."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import sys
from typing import Any

import pytest
from httpx_aiohttp import AiohttpTransport

from core.http_clients import close_clients, get_relay_transport


@pytest.fixture
def bundle_loads(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Each TLS context made with the CA bundle (what costs 50 ms and 1 MB)."""
    made: list[Any] = []
    make = ssl.create_default_context

    def counted(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        context = make(*args, **kwargs)
        made.append(context)
        return context

    monkeypatch.setattr(ssl, "create_default_context", counted)
    return made


def test_the_relay_pool_loads_the_ca_bundle_once(bundle_loads: list[Any]) -> None:
    async def scenario() -> tuple[Any, Any]:
        transport = get_relay_transport()
        assert isinstance(transport, AiohttpTransport)
        session = transport.get_client()
        try:
            return transport.ssl_context, session.connector._ssl  # type: ignore[union-attr]
        finally:
            await session.close()
            await close_clients()

    transports_context, sessions_context = asyncio.run(scenario())

    assert len(bundle_loads) == 1
    assert transports_context is sessions_context is bundle_loads[0]


def test_the_host_name_codec_is_loaded_with_the_pool_module() -> None:
    # In a fresh interpreter: this one may have imported the codec already.
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, core.http_clients; print('encodings.idna' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert loaded.stdout.strip() == "True"
