"""POST /api/channels/<id>/test, against a real fake upstream on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client

from channels_admin.models import Channel
from tests.support.api import error_of
from tests.support.factories import make_channel
from tests.support.fake_upstream import FakeUpstream, running_upstream
from tests.support.servers import closed_url

pytestmark = pytest.mark.django_db


def run_test(api: Client, channel: Channel) -> Any:
    return api.post(f"/api/channels/{channel.pk}/test")


def test_a_working_channel_passes(api: Client, upstream: FakeUpstream) -> None:
    channel = make_channel(upstream)
    response = run_test(api, channel)
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["model"] == "gpt-4o-mini"
    assert body["error"] is None
    assert isinstance(body["latency_ms"], int) and body["latency_ms"] >= 0
    channel.refresh_from_db()
    assert channel.last_test_at is not None
    assert channel.last_response_ms == body["latency_ms"]
    [request] = upstream.requests
    assert request.path == "/v1/chat/completions"
    assert request.json()["model"] == "gpt-4o-mini"
    assert request.headers["authorization"] == f"Bearer {upstream.api_key}"


def test_it_tests_the_test_model_through_the_mapping(api: Client, upstream: FakeUpstream) -> None:
    channel = make_channel(
        upstream, models=["a", "fast"], test_model="fast", model_mapping={"fast": "gpt-4o-mini"}
    )
    body = run_test(api, channel).json()
    assert body["ok"] is True
    assert body["model"] == "fast"
    assert upstream.requests[0].json()["model"] == "gpt-4o-mini"


def test_a_wrong_key_fails_without_leaking_secrets(api: Client, upstream: FakeUpstream) -> None:
    wrong_key = "sk-wrong-key-for-this-upstream-0000"
    channel = make_channel(upstream, key=wrong_key)
    response = run_test(api, channel)
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is False
    assert body["model"] == "gpt-4o-mini"
    # The upstream echoes the key and its own URL in its message; neither may reach us.
    assert body["error"].startswith("Incorrect API key provided")
    assert wrong_key.encode() not in response.content
    assert upstream.v1.encode() not in response.content
    assert upstream.base_url.encode() not in response.content
    channel.refresh_from_db()
    assert channel.last_test_at is not None
    assert channel.last_response_ms is None


def test_an_upstream_error_status_is_reported(api: Client) -> None:
    with running_upstream(fail_with=(404, {"error": {"message": "model gone"}})) as upstream:
        channel = make_channel(upstream)
        body = run_test(api, channel).json()
    assert body == {
        "ok": False,
        "latency_ms": body["latency_ms"],
        "model": "gpt-4o-mini",
        "error": "model gone",
        "keys": [
            {
                "index": 0,
                "mask": "sk-…" + upstream.api_key[-4:],
                "ok": False,
                "latency_ms": body["latency_ms"],
                "error": "model gone",
                "disabled": False,
            }
        ],
    }


def test_an_auto_disabled_channel_that_passes_is_enabled(
    api: Client, upstream: FakeUpstream
) -> None:
    channel = make_channel(upstream)
    Channel.objects.filter(pk=channel.pk).update(
        status="auto_disabled", status_reason="HTTP 500 three times"
    )
    assert run_test(api, channel).json()["ok"] is True
    channel.refresh_from_db()
    assert channel.status == "enabled"
    assert channel.status_reason == ""


def test_an_auto_disabled_channel_that_fails_stays_disabled(
    api: Client, upstream: FakeUpstream
) -> None:
    channel = make_channel(upstream, key="sk-wrong-key-for-this-upstream-0000")
    Channel.objects.filter(pk=channel.pk).update(status="auto_disabled", status_reason="HTTP 500")
    assert run_test(api, channel).json()["ok"] is False
    channel.refresh_from_db()
    assert channel.status == "auto_disabled"
    assert channel.status_reason == "HTTP 500"


def test_a_manually_disabled_channel_stays_disabled(api: Client, upstream: FakeUpstream) -> None:
    channel = make_channel(upstream, status="disabled")
    assert run_test(api, channel).json()["ok"] is True
    channel.refresh_from_db()
    assert channel.status == "disabled"
    assert channel.last_test_at is not None


def test_an_unreachable_upstream_fails_cleanly(api: Client) -> None:
    base_url = closed_url()
    channel = make_channel(name="Gone", base_url=base_url + "/v1", key="sk-gone-key-123456789")
    response = run_test(api, channel)
    body = response.json()
    assert body["ok"] is False
    assert body["error"].startswith("Could not reach the upstream")
    assert b"sk-gone-key-123456789" not in response.content
    assert base_url.encode() not in response.content


def test_it_answers_404_for_an_unknown_channel(api: Client) -> None:
    response = api.post("/api/channels/999999/test")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_it_rejects_get(api: Client, upstream: FakeUpstream) -> None:
    channel = make_channel(upstream)
    response = api.get(f"/api/channels/{channel.pk}/test")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert upstream.requests == []


def test_it_needs_an_admin_key(client: Client, upstream: FakeUpstream) -> None:
    channel = make_channel(upstream)
    response = client.post(f"/api/channels/{channel.pk}/test")
    assert response.status_code == 401
    assert upstream.requests == []


def test_it_runs_on_the_event_loop_under_asgi(admin_key: str, upstream: FakeUpstream) -> None:
    # AsyncClient goes through Django's ASGI handler, as gunicorn's uvicorn worker does.
    channel = make_channel(upstream)
    # Headers per request: AsyncClient mangles the ones given to its constructor.
    response = async_to_sync(AsyncClient().post)(
        f"/api/channels/{channel.pk}/test", headers={"Authorization": f"Bearer {admin_key}"}
    )
    assert response.status_code == 200
    assert response.json()["ok"] is True
    channel.refresh_from_db()
    assert channel.last_response_ms == response.json()["latency_ms"]
