"""A channel key planted in every failure mode (the upstream echoes it in bodies, headers,
HTML pages and stream events) never reaches a response, an SSE frame, a header or the log."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from audit.models import AuditEvent
from channels_admin.models import Channel
from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream
from tests.support.faulty_upstream import CANARY_KEY, drain_relay, running_faulty_upstream
from tests.support.live_gateway import Gateway

ECHO = {"error": {"message": "failed for {echo}", "code": "{echo}", "type": "{echo}"}}
FAULTS: dict[str, tuple[str, int, Any, dict[str, str]]] = {
    "html": ("html", 200, None, {}),
    "not_json": ("not_json", 200, None, {}),
    "5xx": ("status", 500, ECHO, {}),
    "text_5xx": ("status", 502, b"bad gateway " + CANARY_KEY.encode(), {}),
    "401": ("status", 401, ECHO, {}),
    "quota": ("status", 429, {"error": {"message": "{echo}", "code": "insufficient_quota"}}, {}),
    "429": ("status", 429, ECHO, {"retry_after": "5"}),
    "model": ("status", 404, {"error": {"message": "{echo}", "code": "model_not_found"}}, {}),
    "client_error": ("status", 400, ECHO, {"x_debug": CANARY_KEY}),
    "hang": ("hang", 0, None, {}),
    "stall": ("stall", 0, None, {}),
}


def _everything(response: httpx.Response) -> str:
    return response.text + repr(response.headers.multi_items())


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("alone", [True, False], ids=["alone", "with_a_fallback"])
def test_the_canary_key_never_leaves_the_gateway(
    gateway: Gateway,
    upstream: FakeUpstream,
    caplog: pytest.LogCaptureFixture,
    fault: tuple[str, int, Any, dict[str, str]],
    stream: bool,
    alone: bool,
) -> None:
    caplog.set_level(logging.INFO)
    mode, status, body, headers = fault
    with running_faulty_upstream() as faulty:
        faulty.answer(mode, status, body, **headers)
        make_channel(faulty, priority=1, first_byte_timeout=0.3, stream_idle_timeout=0.3)
        if not alone:
            make_channel(upstream)
        key = make_token().key

        with gateway.stream_chat(key, stream=stream) as response:
            response.read()
        drain_relay(gateway.relay)

    assert faulty.request_count() >= 1
    assert CANARY_KEY not in _everything(response)
    assert CANARY_KEY[8:-4] not in _everything(response)
    assert CANARY_KEY not in caplog.text
    for event in AuditEvent.objects.all():
        assert CANARY_KEY not in event.detail + repr(event.changes)
    for channel in Channel.objects.all():
        assert CANARY_KEY not in channel.status_reason
        assert CANARY_KEY not in repr(channel.disabled_models)
