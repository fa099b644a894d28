"""Log lines as JSON for log shippers (TOLLGATE_LOG_FORMAT=json), and the request id on them.

The relay binds each request's id to `request_id_var` while it answers; `RequestIdFilter`,
on every handler, copies it onto each record, so every line written for that request carries
it (tasks the request starts inherit the context, so theirs do too). Loaded by gunicorn's
master as well (gateway.gunicorn_conf), so nothing here needs Django set up.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

import orjson
from django.core.exceptions import ImproperlyConfigured

from core.env import env_str

LOG_FORMATS = ("plain", "json")
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

request_id_var: ContextVar[str | None] = ContextVar("tollgate_request_id", default=None)


def bind_request_id(value: str) -> Token[str | None]:
    """Lines logged from here on in this context carry `value`; give the token back to reset."""
    return request_id_var.set(value)


def reset_request_id(token: Token[str | None]) -> None:
    request_id_var.reset(token)


def log_format_from_env() -> str:
    """TOLLGATE_LOG_FORMAT: plain (the default, for a terminal) or json."""
    value = env_str("TOLLGATE_LOG_FORMAT", "plain").strip().lower() or "plain"
    if value not in LOG_FORMATS:
        raise ImproperlyConfigured(
            f"TOLLGATE_LOG_FORMAT must be plain or json, not {env_str('TOLLGATE_LOG_FORMAT')!r}"
        )
    return value


class RequestIdFilter(logging.Filter):
    """Sets `record.request_id` (None outside a request); never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        # A record passed on by another handler keeps the id it was given first.
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, pid, and exception and
    request_id when there are any. A newline in a message is escaped: a line is a record."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            # Which worker wrote it: gunicorn's plain lines say so too.
            "pid": record.process,
        }
        request_id = getattr(record, "request_id", None)
        if request_id is None:
            # A handler without RequestIdFilter (one an admin configured) still gets the id.
            request_id = request_id_var.get()
        if request_id is not None:
            line["request_id"] = request_id
        if record.exc_info and not record.exc_text:
            # Cached on the record like logging.Formatter does (the redaction filter may have
            # set it already, redacted: then that text is used).
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        # default=str: a message argument orjson cannot encode is already text by now, but an
        # extra field an admin's formatter adds might not be.
        return orjson.dumps(line, default=str).decode()


def handler_config(stream: str) -> dict[str, Any]:
    """A dictConfig handler writing to `stream` ("ext://sys.stderr") in the chosen format."""
    return {
        "class": "logging.StreamHandler",
        "stream": stream,
        "formatter": log_format_from_env(),
        "filters": ["redact", "request_id"],
    }


def formatters_config() -> dict[str, Any]:
    return {"plain": {"format": PLAIN_FORMAT}, "json": {"()": "gateway.log_format.JsonFormatter"}}


def filters_config() -> dict[str, Any]:
    # Credentials out of query strings first (gateway.redaction), then the request id.
    return {
        "redact": {"()": "gateway.redaction.RedactCredentials"},
        "request_id": {"()": "gateway.log_format.RequestIdFilter"},
    }


def gunicorn_logconfig() -> dict[str, Any]:
    """gunicorn's `logconfig_dict`: empty (gunicorn's own plain lines) unless JSON is chosen;
    then gunicorn's error and access logs, and uvicorn's (whose handlers the worker copies
    from gunicorn's), are JSON too, on the same streams as before."""
    if log_format_from_env() != "json":
        return {}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": formatters_config(),
        "filters": filters_config(),
        "handlers": {
            "console": handler_config("ext://sys.stdout"),
            "error_console": handler_config("ext://sys.stderr"),
        },
        "root": {"level": "INFO", "handlers": ["error_console"]},
        "loggers": {
            # Not propagated: gunicorn's defaults would print each line a second time at root.
            "gunicorn.error": {"handlers": ["error_console"], "propagate": False},
            "gunicorn.access": {"handlers": ["console"], "propagate": False},
        },
    }
