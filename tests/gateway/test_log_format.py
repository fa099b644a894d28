"""TOLLGATE_LOG_FORMAT=json: one JSON object per line, with the request id when there is one."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from django.core.exceptions import ImproperlyConfigured

from gateway.log_format import (
    JsonFormatter,
    RequestIdFilter,
    bind_request_id,
    filters_config,
    formatters_config,
    gunicorn_logconfig,
    handler_config,
    log_format_from_env,
    request_id_var,
    reset_request_id,
)
from gateway.redaction import RedactCredentials
from tests.support.served import serving

LOGGER = "tollgate.tests.log_format"


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """A logger writing through the JSON formatter and both filters, as settings wire them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactCredentials())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger(LOGGER)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield stream
    logger.removeHandler(handler)
    logger.propagate = True


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    text = stream.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_each_record_is_one_json_object_on_one_line(json_lines: io.StringIO) -> None:
    log = logging.getLogger(LOGGER)
    log.info("first %s", "line")
    log.warning('a message with\na newline and "quotes"')
    first, second = _lines(json_lines)
    assert first["message"] == "first line"
    assert first["level"] == "INFO"
    assert first["logger"] == LOGGER
    assert datetime.fromisoformat(str(first["time"])).utcoffset() is not None
    assert second["message"] == 'a message with\na newline and "quotes"'
    assert second["level"] == "WARNING"
    assert "request_id" not in first


def test_the_bound_request_id_is_on_every_line(json_lines: io.StringIO) -> None:
    log = logging.getLogger(LOGGER)
    token = bind_request_id("req-123")
    try:
        log.info("inside")
        log.error("still inside")
    finally:
        reset_request_id(token)
    log.info("after")
    inside, still, after = _lines(json_lines)
    assert inside["request_id"] == "req-123"
    assert still["request_id"] == "req-123"
    assert "request_id" not in after
    assert request_id_var.get() is None


def test_tasks_a_request_starts_carry_its_id(json_lines: io.StringIO) -> None:
    log = logging.getLogger(LOGGER)

    async def request(request_id: str) -> None:
        token = bind_request_id(request_id)
        try:
            await asyncio.gather(asyncio.create_task(_log_later(log, request_id)))
        finally:
            reset_request_id(token)

    async def both() -> None:
        await asyncio.gather(request("one"), request("two"))

    asyncio.run(both())
    lines = _lines(json_lines)
    assert {(line["message"], line["request_id"]) for line in lines} == {
        ("one", "one"),
        ("two", "two"),
    }


async def _log_later(log: logging.Logger, message: str) -> None:
    await asyncio.sleep(0)
    log.info(message)


def test_an_exception_is_in_the_line(json_lines: io.StringIO) -> None:
    log = logging.getLogger(LOGGER)
    try:
        raise ValueError("it broke")
    except ValueError:
        log.exception("failed at %s", "https://upstream.test/v1?api_key=sk-canary-value")
    (line,) = _lines(json_lines)
    assert line["level"] == "ERROR"
    assert "Traceback" in str(line["exception"])
    assert "ValueError: it broke" in str(line["exception"])
    # The redaction filter runs on JSON lines as on plain ones.
    assert "sk-canary-value" not in json.dumps(line)
    assert "[redacted]" in str(line["message"])


def test_the_filter_keeps_an_id_set_before() -> None:
    record = logging.LogRecord(LOGGER, logging.INFO, __file__, 1, "x", None, None)
    record.request_id = "from-elsewhere"
    token = bind_request_id("current")
    try:
        assert RequestIdFilter().filter(record)
    finally:
        reset_request_id(token)
    assert record.request_id == "from-elsewhere"


def test_plain_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOLLGATE_LOG_FORMAT", raising=False)
    assert log_format_from_env() == "plain"
    assert handler_config("ext://sys.stderr")["formatter"] == "plain"
    assert gunicorn_logconfig() == {}


def test_settings_wire_both_filters_on_the_handler() -> None:
    from django.conf import settings

    assert settings.LOGGING["handlers"]["console"]["filters"] == ["redact", "request_id"]
    assert set(filters_config()) == {"redact", "request_id"}


def test_json_is_chosen_by_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOLLGATE_LOG_FORMAT", "JSON")
    assert log_format_from_env() == "json"
    assert handler_config("ext://sys.stderr")["formatter"] == "json"
    config = gunicorn_logconfig()
    assert config["handlers"]["error_console"]["formatter"] == "json"
    assert config["loggers"]["gunicorn.access"]["propagate"] is False
    assert "json" in formatters_config()


def test_an_unknown_format_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOLLGATE_LOG_FORMAT", "yaml")
    with pytest.raises(ImproperlyConfigured, match="TOLLGATE_LOG_FORMAT"):
        log_format_from_env()


@pytest.mark.served
def test_a_served_gateway_writes_only_json_lines(site: Path) -> None:
    with serving(site, TOLLGATE_LOG_FORMAT="json", TOLLGATE_WORKERS="2") as served:
        with httpx.Client(base_url=served.url, timeout=30) as client:
            assert client.get("/healthz").status_code == 200
            response = client.get(
                "/v1/models", headers={"Authorization": "Bearer sk-wrong", "X-Request-Id": "r-77"}
            )
            assert response.status_code == 401
            client.get("/login/", params={"token": "canary-login"})
        log = served.stop()

    lines = [json.loads(line) for line in log.splitlines() if line.strip()]
    loggers = {line["logger"] for line in lines}
    assert "gunicorn.error" in loggers  # the master's "Starting gunicorn", "Booting worker"
    assert "uvicorn.access" in loggers
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    assert any('"GET /healthz HTTP/1.1" 200' in line["message"] for line in access)
    assert any("token=[redacted]" in line["message"] for line in access)
    assert "canary" not in log


@pytest.mark.served
def test_a_relay_requests_lines_carry_its_request_id(site: Path) -> None:
    with serving(site, TOLLGATE_LOG_FORMAT="json") as served:
        response = httpx.get(
            f"{served.url}/v1/models",
            headers={"Authorization": "Bearer sk-wrong", "X-Request-Id": "r-4242"},
            timeout=30,
        )
        assert response.status_code == 401
        log = served.stop()
    lines = [json.loads(line) for line in log.splitlines() if line.strip()]
    (access,) = [line for line in lines if "/v1/models" in line["message"]]
    assert access["request_id"] == "r-4242"
