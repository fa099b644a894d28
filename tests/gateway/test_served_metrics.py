"""GET /metrics of `make serve` with two workers: every worker counts, whichever answers."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.metric_values import FLUSH_SECONDS
from tests.support.served import Served, run_python, serving

pytestmark = pytest.mark.served

# Rounds of concurrent requests sent at most until two workers have answered; a round is
# usually enough (a busy worker leaves the next connection to the other).
MAX_ROUNDS = 30
ROUND = 16


def _pids_that_answered(served: Served, path: str) -> set[int]:
    """The workers whose access lines (JSON: each names its pid) show a request for path."""
    pids = set()
    for line in served.log_path.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if record["logger"] == "uvicorn.access" and f'"GET {path} HTTP/1.1"' in record["message"]:
            pids.add(record["pid"])
    return pids


def _traffic_from_two_workers(served: Served, path: str, headers: dict[str, str]) -> int:
    """Sends GET `path` on fresh connections, in concurrent rounds, until two workers have
    answered; returns how many requests went out."""

    async def one_round() -> None:
        # No kept-alive connection: each request is accepted anew, by either worker.
        limits = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=served.url, timeout=30, limits=limits) as client:
            answers = await asyncio.gather(
                *(client.get(path, headers=headers) for _ in range(ROUND))
            )
        assert {answer.status_code for answer in answers} == {200}

    sent = 0
    for _ in range(MAX_ROUNDS):
        asyncio.run(one_round())
        sent += ROUND
        if len(_pids_that_answered(served, path)) >= 2:
            return sent
    raise AssertionError(f"one worker answered all {sent} requests")


def _scrape(served: Served) -> dict[str, list[tuple[dict[str, str], float]]]:
    response = httpx.get(f"{served.url}/metrics", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        family.name: [(sample.labels, sample.value) for sample in family.samples]
        for family in text_string_to_metric_families(response.text)
    }


def test_every_worker_writes_its_samples_where_the_scrape_reads_them(site: Path) -> None:
    metrics_dir = site / f"metrics-{uuid.uuid4().hex[:8]}"
    metrics_dir.mkdir()
    # A previous run's counts: the server starts from zero, not from these.
    (metrics_dir / "counter_999999.db").write_bytes(b"stale")
    env = {
        "TOLLGATE_WORKERS": "2",
        "TOLLGATE_LOG_FORMAT": "json",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    with serving(site, **env) as served:
        _traffic_from_two_workers(served, "/healthz", {})
        workers = _pids_that_answered(served, "/healthz")
        assert not (metrics_dir / "counter_999999.db").exists()
        # Each worker keeps its live gauges (open streams, buffered records) in its own file.
        for pid in workers:
            assert (metrics_dir / f"gauge_livesum_{pid}.db").exists()
        families = _scrape(served)
        assert families["tollgate_open_streams"] == [({}, 0.0)]
        assert families["tollgate_usage_buffer_records"] == [({}, 0.0)]
        assert "tollgate_channel_status" in families
        served.stop()
    # A stopped worker's live gauges are gone (gunicorn's child_exit); its counters stay.
    assert not list(metrics_dir.glob("gauge_livesum_*.db"))


def test_without_a_named_directory_each_start_gets_its_own(site: Path) -> None:
    tmp = site / f"tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    with serving(site, TMPDIR=str(tmp)) as served:
        _scrape(served)
        made = list(tmp.glob("tollgate-metrics-*"))
        assert len(made) == 1
        assert made[0].stat().st_mode & 0o777 == 0o700
        assert list(made[0].glob("*.db"))
        served.stop()
    assert not list(tmp.glob("tollgate-metrics-*"))


def test_another_address_may_not_scrape_once_a_token_is_set(site: Path) -> None:
    with serving(site, TOLLGATE_METRICS_TOKEN="scrape-token-for-tests") as served:
        assert httpx.get(f"{served.url}/metrics", timeout=30).status_code == 401
        response = httpx.get(
            f"{served.url}/metrics",
            headers={"Authorization": "Bearer scrape-token-for-tests"},
            timeout=30,
        )
        assert response.status_code == 200
        assert "tollgate_open_streams" in response.text


def _models_answered(families: dict[str, list[tuple[dict[str, str], float]]]) -> float:
    return sum(
        value
        for labels, value in families.get("tollgate_requests", [])
        if labels.get("endpoint") == "/v1/models" and labels.get("status") == "200"
    )


def test_requests_counted_by_two_workers_add_up(site: Path) -> None:
    key = run_python(
        site,
        "import django; django.setup()\n"
        "from tokens.services import token_create\n"
        f"print(token_create(name='metrics {uuid.uuid4().hex[:8]}')[1])\n",
    ).strip()
    with serving(site, TOLLGATE_WORKERS="2", TOLLGATE_LOG_FORMAT="json") as served:
        sent = _traffic_from_two_workers(served, "/v1/models", {"Authorization": f"Bearer {key}"})
        # The worker that answers the scrape writes its counts first; the other one writes
        # its own within FLUSH_SECONDS (gateway/metric_values.py): scraped until then.
        deadline = time.monotonic() + FLUSH_SECONDS + 10
        while True:
            families = _scrape(served)
            counted = _models_answered(families)
            if counted >= sent or time.monotonic() > deadline:
                break
    assert counted == sent
    first_bytes = [
        value
        for labels, value in families["tollgate_time_to_first_byte_seconds"]
        if labels.get("endpoint") == "/v1/models" and "le" not in labels
    ]
    assert sent in first_bytes  # the _count sample
