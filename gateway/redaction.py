"""Credentials in logged URLs: `?api_key=sk-…` must not reach an access log or any other log.

A logging filter (attached to uvicorn's access logger by the gunicorn worker, and to every
handler by the Django settings) rewrites query values whose names say "credential", and any
value shaped like one of our own keys, to `[redacted]`. No Django imports: the gunicorn
worker loads this before Django is set up.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import unquote_plus

REDACTED = "[redacted]"

# Parameter names (lower case, "-" read as "_") whose values are credentials.
SENSITIVE_NAMES = frozenset(
    {
        "api_key",
        "apikey",
        "key",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "auth",
        "authorization",
        "password",
        "passwd",
        "pass",
        "pwd",
        "secret",
        "client_secret",
        "sig",
        "signature",
        "code",
        "session",
        "sessionid",
        "credential",
        "credentials",
        "x_api_key",
    }
)
# Longer names containing one of these are credentials too (openai_api_key, x_goog_api_key).
SENSITIVE_PARTS = ("key", "token", "secret", "password", "passwd", "signature", "credential")

# A query string inside a log line: from "?" to the next space or quote.
_QUERY = re.compile(r"\?([^\s\"'<>]+)")
# Our own keys and tokens, wherever they appear in a query (a bare `?sk-…` included).
_KEY_SHAPED = re.compile(r"\b(?:sk|tga)-[A-Za-z0-9_\-]{16,}")
_PAIR_SEPARATORS = re.compile(r"([&;])")


def is_sensitive_name(raw_name: str) -> bool:
    name = unquote_plus(raw_name).strip().lower().replace("-", "_")
    return name in SENSITIVE_NAMES or any(part in name for part in SENSITIVE_PARTS)


def redact_query(query: str) -> str:
    """The query with every credential value replaced; names and other values kept as sent."""
    parts = _PAIR_SEPARATORS.split(query)
    for index in range(0, len(parts), 2):
        name, equals, value = parts[index].partition("=")
        if equals and value and is_sensitive_name(name):
            parts[index] = f"{name}={REDACTED}"
    return _KEY_SHAPED.sub(REDACTED, "".join(parts))


def redact_text(text: str) -> str:
    """Every query string in a line of text (a URL, a request line, a message) redacted."""
    if "?" not in text:
        return text
    return _QUERY.sub(lambda match: "?" + redact_query(match.group(1)), text)


def _redact_arg(arg: Any) -> Any:
    if isinstance(arg, str):
        return redact_text(arg)
    if arg is None or isinstance(arg, int | float | bytes):
        return arg
    # An httpx.URL, an exception: its text is what the line will show.
    text = str(arg)
    return redact_text(text) if "?" in text else arg


class RedactCredentials(logging.Filter):
    """Rewrites a record's message, arguments and traceback text; never drops a record.

    The arguments keep their shape (uvicorn's access formatter unpacks them), so a formatter
    configured by the admin still works.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_text(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _redact_arg(value) for key, value in record.args.items()}
        if record.exc_info and not record.exc_text:
            # Formatters use exc_text when it is set: format the traceback once, redacted.
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True
