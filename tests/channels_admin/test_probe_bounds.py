"""The Test button and Fetch models read a bounded answer within one deadline.

Two hostile upstreams on loopback: one that dribbles a byte at a time for ever (each byte well
inside a per-read timeout), one that sends far more than any real answer.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from channels_admin import probe
from channels_admin.probe import UpstreamModelsError, fetch_upstream_models, run_channel_test
from tests.support.audit import ALICE
from tests.support.factories import make_channel
from tests.support.fake_upstream import running_upstream
from tests.support.pages import HTMX
from tests.support.servers import serve_asgi

KEY = "sk-bounds-test-key-0123456789abcdef"
DEADLINE = 0.3
CHUNK = 64 * 1024


@dataclass
class Hostile:
    """An upstream that answers every request with a body that never ends in time."""

    mode: str  # "dribble" or "flood"
    declared_length: int | None = None
    paths: list[str] = field(default_factory=list)
    sent: int = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.paths.append(scope["path"])
        while (await receive()).get("more_body"):
            pass
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.ensure_future(watch())
        headers = [(b"content-type", b"application/json")]
        if self.declared_length is not None:
            headers.append((b"content-length", str(self.declared_length).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        try:
            if self.mode == "dribble":
                await self._dribble(send, gone)
            else:
                await self._flood(send, gone)
        finally:
            watcher.cancel()

    async def _dribble(self, send: Any, gone: asyncio.Event) -> None:
        # Bounded so that a gateway without a deadline fails the test instead of hanging it.
        for _ in range(500):
            if gone.is_set():
                return
            await send({"type": "http.response.body", "body": b" ", "more_body": True})
            self.sent += 1
            try:
                await asyncio.wait_for(gone.wait(), 0.01)
            except TimeoutError:
                pass
        await send({"type": "http.response.body", "body": b"{}"})

    async def _flood(self, send: Any, gone: asyncio.Event) -> None:
        for _ in range(128):  # 8 MiB
            if gone.is_set():
                return
            await send({"type": "http.response.body", "body": b" " * CHUNK, "more_body": True})
            self.sent += CHUNK
        await send({"type": "http.response.body", "body": b"{}"})


@pytest.fixture
def short_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probe, "TEST_TIMEOUT_SECONDS", DEADLINE)


@pytest.fixture
def dribbler() -> Iterator[tuple[Hostile, str]]:
    hostile = Hostile("dribble")
    with serve_asgi(hostile) as base_url:
        yield hostile, base_url + "/v1"


@pytest.fixture
def flood() -> Iterator[tuple[Hostile, str]]:
    hostile = Hostile("flood")
    with serve_asgi(hostile) as base_url:
        yield hostile, base_url + "/v1"


@pytest.mark.django_db
@pytest.mark.usefixtures("short_deadline")
def test_a_dribbling_upstream_fails_the_test_at_the_deadline(
    dribbler: tuple[Hostile, str],
) -> None:
    hostile, url = dribbler
    result = async_to_sync(run_channel_test)(make_channel(base_url=url), actor=ALICE)

    assert result.ok is False
    assert result.error == f"The upstream did not answer within {DEADLINE:g}s."
    assert hostile.paths == ["/v1/chat/completions"]


@pytest.mark.usefixtures("short_deadline")
def test_a_dribbling_upstream_fails_fetch_models_at_the_deadline(
    dribbler: tuple[Hostile, str],
) -> None:
    _, url = dribbler
    with pytest.raises(UpstreamModelsError) as info:
        async_to_sync(fetch_upstream_models)(url, KEY)
    assert str(info.value) == f"The upstream did not answer within {DEADLINE:g}s."


@pytest.mark.django_db
def test_an_enormous_answer_fails_the_test_without_reading_it_all(
    flood: tuple[Hostile, str],
) -> None:
    _, url = flood
    result = async_to_sync(run_channel_test)(make_channel(base_url=url), actor=ALICE)

    assert result.ok is False
    assert result.error == "The upstream's answer is larger than 1 MiB; stopped reading."


def test_an_enormous_answer_fails_fetch_models(flood: tuple[Hostile, str]) -> None:
    _, url = flood
    with pytest.raises(UpstreamModelsError, match=r"larger than 1 MiB; stopped reading\.$"):
        async_to_sync(fetch_upstream_models)(url, KEY)


def test_a_declared_enormous_length_is_refused_before_reading() -> None:
    hostile = Hostile("flood", declared_length=8 * 1024 * 1024 + 2)
    with serve_asgi(hostile) as base_url:
        with pytest.raises(UpstreamModelsError, match="larger than 1 MiB"):
            async_to_sync(fetch_upstream_models)(base_url + "/v1", KEY)


def test_a_big_honest_model_list_is_read() -> None:
    # The bound is on bytes, not on models: a big but honest list still arrives.
    models = [f"model-{index:05d}" for index in range(5000)]

    async def listing(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = json.dumps({"data": [{"id": m} for m in models]}).encode()
        assert len(body) < probe.MAX_ANSWER_BYTES
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    with serve_asgi(listing) as base_url:
        assert async_to_sync(fetch_upstream_models)(base_url + "/v1", KEY) == models


@pytest.mark.django_db
@pytest.mark.usefixtures("short_deadline")
def test_the_test_button_shows_the_deadline_error(
    staff_client: Client, dribbler: tuple[Hostile, str]
) -> None:
    _, url = dribbler
    channel = make_channel(base_url=url)
    body = staff_client.post(
        f"/channels/{channel.pk}/test/", {"fragment": "result"}, headers=HTMX
    ).content.decode()
    assert f"The upstream did not answer within {DEADLINE:g}s." in body


@pytest.mark.django_db
def test_a_long_error_echoing_the_key_is_scrubbed_before_it_is_cut() -> None:
    with running_upstream(api_key=KEY) as upstream:
        # The key straddles the cut: cutting first would leave its head in the message.
        upstream.fail_with = (500, {"error": {"message": "x" * 995 + KEY + "y" * 5000}})
        result = async_to_sync(run_channel_test)(make_channel(upstream), actor=ALICE)

    assert result.error is not None
    assert result.error.startswith("x" * 995 + "[reda")
    assert len(result.error) == probe.MAX_ERROR_CHARACTERS + 1
    assert KEY[:6] not in result.error
