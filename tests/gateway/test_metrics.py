"""Prometheus metrics: what the recording functions count, and who may read GET /metrics."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from channels_admin.models import Channel, ChannelStatus
from gateway import metrics
from gateway.metrics import MetricsEndpoint
from tests.support.factories import make_channel
from tests.support.served import ROOT

TOKEN = "metrics-scrape-token-0123456789"


def _value(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def _scrape(
    endpoint: MetricsEndpoint,
    *,
    client: str = "127.0.0.1",
    headers: dict[str, str] | None = None,
    method: str = "GET",
) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=endpoint, client=(client, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            return await http.request(method, "/metrics", headers=headers)

    return async_to_sync(call)()


def _families(text: str) -> dict[str, Any]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def _no_channels() -> list[metrics.ChannelRow]:
    return []


# --- recording ----------------------------------------------------------------------------


def test_a_request_is_counted_by_endpoint_model_status_and_group() -> None:
    labels = {"endpoint": "/v1/chat/completions", "model": "gpt-4o", "group": "vip"}
    before = _value("tollgate_requests_total", status="200", **labels)
    metrics.observe_request("/v1/chat/completions", "gpt-4o", 200, "vip", 1.5, 0.2)
    metrics.observe_request("/v1/chat/completions", "gpt-4o", 200, "vip", 2.5, 0.4)
    metrics.observe_request("/v1/chat/completions", "gpt-4o", 502, "vip", 0.1, None)
    assert _value("tollgate_requests_total", status="200", **labels) == before + 2
    assert _value("tollgate_requests_total", status="502", **labels) >= 1


def test_durations_and_first_bytes_land_in_their_histograms() -> None:
    endpoint = {"endpoint": "/v1/embeddings"}
    count = _value("tollgate_request_duration_seconds_count", **endpoint)
    total = _value("tollgate_request_duration_seconds_sum", **endpoint)
    first_count = _value("tollgate_time_to_first_byte_seconds_count", **endpoint)
    under_half = _value("tollgate_time_to_first_byte_seconds_bucket", le="0.5", **endpoint)

    metrics.observe_request("/v1/embeddings", "text-embedding-3-small", 200, "default", 0.75, 0.3)
    metrics.observe_request("/v1/embeddings", "text-embedding-3-small", 499, "default", 4.0, None)

    assert _value("tollgate_request_duration_seconds_count", **endpoint) == count + 2
    assert _value("tollgate_request_duration_seconds_sum", **endpoint) == pytest.approx(
        total + 4.75
    )
    # No response head went out for the second: no first byte to time.
    assert _value("tollgate_time_to_first_byte_seconds_count", **endpoint) == first_count + 1
    assert (
        _value("tollgate_time_to_first_byte_seconds_bucket", le="0.5", **endpoint) == under_half + 1
    )


def test_paths_outside_the_known_endpoints_do_not_make_new_series() -> None:
    before_other = _value(
        "tollgate_requests_total", endpoint="other", model="", status="404", group="default"
    )
    before_models = _value(
        "tollgate_requests_total",
        endpoint="/v1/models/{id}",
        model="",
        status="404",
        group="default",
    )
    for index in range(5):
        metrics.observe_request(f"/v1/made-up/{index}", "", 404, "default", 0.01, 0.01)
        metrics.observe_request(f"/v1/models/no-such-{index}", "", 404, "default", 0.01, 0.01)
    assert (
        _value("tollgate_requests_total", endpoint="other", model="", status="404", group="default")
        == before_other + 5
    )
    assert (
        _value(
            "tollgate_requests_total",
            endpoint="/v1/models/{id}",
            model="",
            status="404",
            group="default",
        )
        == before_models + 5
    )


def test_model_names_past_the_cap_count_as_other(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "_model_labels", set())
    monkeypatch.setattr(metrics, "_request_children", {})
    monkeypatch.setattr(metrics, "MAX_MODEL_LABELS", 2)
    labels = {"endpoint": "/v1/completions", "status": "200", "group": "capped"}
    for model in ("first", "second", "third", "fourth", "first"):
        metrics.observe_request("/v1/completions", model, 200, "capped", 0.1, 0.1)
    assert _value("tollgate_requests_total", model="first", **labels) == 2
    assert _value("tollgate_requests_total", model="second", **labels) == 1
    assert _value("tollgate_requests_total", model="other", **labels) == 2
    assert _value("tollgate_requests_total", model="third", **labels) == 0


def test_attempts_and_failures_are_counted_per_channel() -> None:
    before_failed = _value("tollgate_upstream_attempts_total", channel="Azure", outcome="failed")
    before_answered = _value(
        "tollgate_upstream_attempts_total", channel="Azure", outcome="answered"
    )
    before_timeout = _value("tollgate_upstream_failures_total", channel="Azure", reason="timeout")
    metrics.observe_attempt("Azure", "failed")
    metrics.observe_failure("Azure", "timeout")
    metrics.observe_attempt("Azure", "answered")
    assert (
        _value("tollgate_upstream_attempts_total", channel="Azure", outcome="failed")
        == before_failed + 1
    )
    assert (
        _value("tollgate_upstream_attempts_total", channel="Azure", outcome="answered")
        == before_answered + 1
    )
    assert (
        _value("tollgate_upstream_failures_total", channel="Azure", reason="timeout")
        == before_timeout + 1
    )


def test_open_streams_go_up_and_down() -> None:
    before = _value("tollgate_open_streams")
    metrics.stream_opened()
    metrics.stream_opened()
    assert _value("tollgate_open_streams") == before + 2
    metrics.stream_closed()
    metrics.stream_closed()
    assert _value("tollgate_open_streams") == before


def test_rejections_and_the_usage_buffer_are_recorded() -> None:
    quota = _value("tollgate_quota_rejections_total", reason="daily")
    rpm = _value("tollgate_rate_limit_rejections_total", limit="requests")
    metrics.quota_rejected("daily")
    metrics.rate_limited("requests")
    metrics.set_usage_buffer(42)
    assert _value("tollgate_quota_rejections_total", reason="daily") == quota + 1
    assert _value("tollgate_rate_limit_rejections_total", limit="requests") == rpm + 1
    assert _value("tollgate_usage_buffer_records") == 42
    metrics.set_usage_buffer(0)


# --- channel status -----------------------------------------------------------------------


@pytest.mark.django_db
def test_channel_status_is_read_from_the_database_in_one_query(
    django_assert_num_queries: Any,
) -> None:
    make_channel(name="Up")
    make_channel(name="Off", status=ChannelStatus.DISABLED)
    make_channel(name="Broken", status=ChannelStatus.AUTO_DISABLED)
    cooling = make_channel(name="Cooling")
    Channel.objects.filter(pk=cooling.pk).update(
        cooldown_until=timezone.now() + timedelta(minutes=5)
    )
    with django_assert_num_queries(1):
        rows = metrics.channel_rows()

    body, _ = metrics.render(rows)
    status = _families(body.decode())["tollgate_channel_status"]
    ones = {
        (sample.labels["channel"], sample.labels["status"])
        for sample in status.samples
        if sample.value == 1
    }
    assert ones == {
        ("Up", "enabled"),
        ("Off", "disabled"),
        ("Broken", "auto_disabled"),
        ("Cooling", "cooling_down"),
    }
    # Every status listed for every channel (0 when not in it), as Prometheus enums are.
    assert len(status.samples) == 4 * len(metrics.CHANNEL_STATES)


def test_channels_sharing_a_name_are_added_up() -> None:
    rows = [("Twin", "enabled", False), ("Twin", "enabled", False), ("Twin", "disabled", False)]
    family = next(iter(metrics.ChannelStatusCollector(rows).collect()))
    values = {sample.labels["status"]: sample.value for sample in family.samples}
    assert values == {"enabled": 2, "disabled": 1, "auto_disabled": 0, "cooling_down": 0}


# --- GET /metrics ---------------------------------------------------------------------------


def test_loopback_may_scrape_when_nothing_is_configured() -> None:
    endpoint = MetricsEndpoint(token="", allow=["127.0.0.1", "::1"], read_channels=_no_channels)
    metrics.observe_request("/v1/chat/completions", "gpt-4o", 200, "default", 1.0, 0.1)
    response = _scrape(endpoint)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = _families(response.text)
    assert "tollgate_requests" in families
    assert "tollgate_request_duration_seconds" in families
    assert "tollgate_open_streams" in families
    assert "tollgate_channel_status" in families
    assert _scrape(endpoint, client="::1").status_code == 200


def test_another_address_is_refused_without_a_token() -> None:
    endpoint = MetricsEndpoint(token="", allow=["127.0.0.1", "::1"], read_channels=_no_channels)
    response = _scrape(endpoint, client="192.0.2.10")
    assert response.status_code == 403
    assert "tollgate_" not in response.text


def test_an_allowed_network_may_scrape() -> None:
    endpoint = MetricsEndpoint(token="", allow=["10.0.0.0/8"], read_channels=_no_channels)
    assert _scrape(endpoint, client="10.1.2.3").status_code == 200
    assert _scrape(endpoint, client="::ffff:10.1.2.3").status_code == 200
    assert _scrape(endpoint, client="127.0.0.1").status_code == 403


def test_the_bearer_token_lets_any_address_in() -> None:
    endpoint = MetricsEndpoint(token=TOKEN, allow=[], read_channels=_no_channels)
    response = _scrape(endpoint, client="203.0.113.5", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert "tollgate_requests" in _families(response.text)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer "],
)
def test_a_missing_or_wrong_token_is_refused(authorization: str | None) -> None:
    endpoint = MetricsEndpoint(token=TOKEN, allow=[], read_channels=_no_channels)
    headers = {"Authorization": authorization} if authorization else None
    response = _scrape(endpoint, client="127.0.0.1", headers=headers)
    # With a token set, loopback is no longer let in by default: a proxy there would be.
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "tollgate_" not in response.text


def test_a_token_and_an_allow_list_work_side_by_side() -> None:
    endpoint = MetricsEndpoint(token=TOKEN, allow=["192.0.2.0/24"], read_channels=_no_channels)
    assert _scrape(endpoint, client="192.0.2.7").status_code == 200
    assert _scrape(endpoint, client="198.51.100.1").status_code == 401
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert _scrape(endpoint, client="198.51.100.1", headers=headers).status_code == 200


def test_it_rejects_post() -> None:
    endpoint = MetricsEndpoint(token="", allow=["127.0.0.1"], read_channels=_no_channels)
    response = _scrape(endpoint, method="POST")
    assert response.status_code == 405


def test_openmetrics_is_served_when_asked_for() -> None:
    endpoint = MetricsEndpoint(token="", allow=["127.0.0.1"], read_channels=_no_channels)
    response = _scrape(endpoint, headers={"Accept": "application/openmetrics-text"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")


def test_a_database_outage_leaves_the_relays_own_counts() -> None:
    def unreachable() -> list[metrics.ChannelRow]:
        raise RuntimeError("database is away")

    endpoint = MetricsEndpoint(token="", allow=["127.0.0.1"], read_channels=unreachable)
    response = _scrape(endpoint)
    assert response.status_code == 200
    families = _families(response.text)
    assert "tollgate_requests" in families
    assert "tollgate_channel_status" not in families


def test_the_asgi_app_routes_metrics_around_django() -> None:
    from gateway.asgi import build_application
    from gateway.relay.app import RelayApp

    endpoint = MetricsEndpoint(token="", allow=["127.0.0.1"], read_channels=_no_channels)
    app = build_application(RelayApp(), endpoint)

    async def call(client: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=(client, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            return await http.get("/metrics")

    assert async_to_sync(call)("127.0.0.1").status_code == 200
    assert async_to_sync(call)("192.0.2.1").status_code == 403


def test_a_malformed_allow_list_fails_loudly(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TOLLGATE_DATA_DIR": str(tmp_path),
        "TOLLGATE_METRICS_ALLOW": "10.0.0.0/8,10.0.0.300",
    }
    done = subprocess.run(
        [sys.executable, "-c", "import gateway.settings"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "TOLLGATE_METRICS_ALLOW: '10.0.0.300' is not an IP address" in done.stderr
