"""The upstream pool is made when the relay starts, so the first request does not wait for
it: its TLS context loads the CA bundle, which held up every request on the loop."""

from __future__ import annotations

import ssl
import threading
from typing import Any

import httpx
import pytest

from gateway.asgi import build_application
from gateway.relay.app import RelayApp
from gateway.relay.cache import RelayCache
from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream
from tests.support.live_gateway import Gateway
from tests.support.servers import serve_asgi


@pytest.mark.django_db(transaction=True)
def test_the_pool_is_ready_before_the_first_request(
    upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_channel(upstream)
    key = make_token().key
    loads: list[Any] = []
    make = ssl.create_default_context

    def counted(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        # The server's, not the test's own clients' (those run on the main thread).
        if threading.current_thread() is not threading.main_thread():
            loads.append(args or kwargs)
        return make(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counted)
    relay = RelayApp(cache=RelayCache(refresh_seconds=0))

    with serve_asgi(build_application(relay), lifespan="on") as url:
        # Answered only once startup is over (uvicorn serves after it), without the pool.
        assert httpx.get(url + "/healthz", timeout=30).status_code == 200
        at_startup = len(loads)
        answer = (
            Gateway(url=url, relay=relay)
            .client(key)
            .chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
            )
        )
        after_a_request = len(loads)

    assert answer.choices[0].message.content
    assert at_startup == 1
    assert after_a_request == 1


@pytest.mark.django_db(transaction=True)
def test_a_pool_that_cannot_be_made_at_startup_does_not_stop_the_relay(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    make = ssl.create_default_context

    def unreadable(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        if threading.current_thread() is threading.main_thread():
            return make(*args, **kwargs)  # the test's own client
        raise ssl.SSLError("the CA bundle will not load")

    monkeypatch.setattr(ssl, "create_default_context", unreadable)
    relay = RelayApp(cache=RelayCache(refresh_seconds=0))

    with serve_asgi(build_application(relay), lifespan="on") as url:
        assert httpx.get(url + "/healthz", timeout=30).status_code == 200

    assert "could not make the upstream connection pool at startup" in caplog.text
