from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from gateway.redaction import RedactCredentials, redact_text
from gateway.relay import forward
from gateway.serving import redact_server_logs

CANARY = "canary-0123456789"
ACCESS_FORMAT = '%s - "%s %s HTTP/%s" %d'


def _access_record(target: str) -> logging.LogRecord:
    """A record as uvicorn's access logger makes it."""
    return logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        ACCESS_FORMAT,
        ("127.0.0.1:50000", "GET", target, "1.1", 200),
        None,
    )


@pytest.mark.parametrize(
    "name",
    [
        "api_key",
        "key",
        "api-key",
        "API_KEY",
        "apikey",
        "token",
        "access_token",
        "password",
        "secret",
        "client_secret",
        "sig",
        "signature",
        "code",
        "x-goog-api-key",
        "openai_api_key",
        "api%5Fkey",
    ],
)
def test_it_redacts_each_credential_parameter(name: str) -> None:
    record = _access_record(f"/v1/models?limit=5&{name}={CANARY}")
    RedactCredentials().filter(record)
    assert record.getMessage() == (
        f'127.0.0.1:50000 - "GET /v1/models?limit=5&{name}=[redacted] HTTP/1.1" 200'
    )


def test_it_keeps_the_access_records_arguments_for_uvicorns_formatter() -> None:
    record = _access_record(f"/healthz?api_key={CANARY}")
    RedactCredentials().filter(record)
    assert isinstance(record.args, tuple)
    assert record.args[2] == "/healthz?api_key=[redacted]"
    assert record.args[4] == 200


def test_it_leaves_ordinary_parameters_alone() -> None:
    target = "/tokens/?q=main&o=-name&p=2"
    assert redact_text(f"GET {target} 200") == f"GET {target} 200"


def test_it_redacts_a_token_shaped_value_under_any_name() -> None:
    text = "/v1/models?x=sk-abcdefghijklmnopqrstuvwxyz0123&sk-0000000000000000000000"
    assert redact_text(text) == "/v1/models?x=[redacted]&[redacted]"


def test_it_redacts_semicolon_separated_pairs() -> None:
    assert redact_text(f"/x?a=1;token={CANARY}") == "/x?a=1;token=[redacted]"


@pytest.fixture
def root_output() -> Iterator[io.StringIO]:
    """What the console handler of Django's LOGGING writes, captured."""
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)]
    assert handlers, "the LOGGING setting configures a console handler on the root logger"
    stream = io.StringIO()
    previous = [h.setStream(stream) for h in handlers]
    yield stream
    for handler, old in zip(handlers, previous, strict=True):
        handler.setStream(old)


def test_our_log_lines_lose_credentials_in_urls(root_output: io.StringIO) -> None:
    # The logger of the relay module that forwards to the upstreams (gateway.relay.forward).
    logging.getLogger(forward.__name__).warning(
        "channel %s unreachable: %s", "main", f"GET http://up.example/v1/x?key={CANARY}"
    )
    line = root_output.getvalue()
    assert "channel main unreachable: GET http://up.example/v1/x?key=[redacted]" in line
    assert CANARY not in line


def test_a_traceback_loses_credentials_too(root_output: io.StringIO) -> None:
    try:
        raise ValueError(f"bad URL /v1/models?api_key={CANARY}")
    except ValueError:
        logging.getLogger("gateway.relay.app").exception("relay failed")
    output = root_output.getvalue()
    assert "ValueError: bad URL /v1/models?api_key=[redacted]" in output
    assert CANARY not in output


def test_the_worker_filters_uvicorns_access_logger() -> None:
    redact_server_logs()
    redact_server_logs()  # idempotent: the worker is constructed once per spawn
    access = logging.getLogger("uvicorn.access")
    filters = [f for f in access.filters if isinstance(f, RedactCredentials)]
    assert len(filters) == 1
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    access.addHandler(handler)
    level = access.level
    access.setLevel(logging.INFO)
    try:
        access.info(ACCESS_FORMAT, "127.0.0.1:1", "GET", f"/v1?token={CANARY}", "1.1", 200)
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
    assert CANARY not in stream.getvalue()
    assert "/v1?token=[redacted]" in stream.getvalue()
