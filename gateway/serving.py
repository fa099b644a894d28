"""How Tollgate is served: the gunicorn worker class and the connection bounds it applies.

`make serve` and the Docker image run gunicorn with gateway.gunicorn_conf, which names
TollgateWorker: uvicorn's worker with the bounded HTTP protocol, a concurrency cap, forwarded
headers trusted only from the proxies the admin names (none by default), and credentials
redacted from the access log. Nothing here needs Django set up: gunicorn's master loads it.
"""

from __future__ import annotations

import ipaddress
import logging
import resource
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from uvicorn_worker import UvicornWorker

from core.env import env_bool, env_float, env_int, env_list
from gateway.bounded_http import bounded_protocol
from gateway.redaction import RedactCredentials

log = logging.getLogger(__name__)

# Loggers gunicorn and uvicorn write request lines and errors to.
SERVER_LOGGERS = ("uvicorn.access", "uvicorn.error", "gunicorn.access", "gunicorn.error")


@dataclass(frozen=True)
class ServingOptions:
    keepalive_seconds: int
    header_timeout_seconds: float
    body_timeout_seconds: float
    max_header_bytes: int
    max_connections: int
    backlog: int
    trusted_proxies: tuple[str, ...]
    access_log: bool = True


def serving_options() -> ServingOptions:
    return ServingOptions(
        keepalive_seconds=env_int("TOLLGATE_KEEPALIVE_SECONDS", 5, minimum=1),
        header_timeout_seconds=env_float("TOLLGATE_HEADER_TIMEOUT_SECONDS", 10.0, minimum=0.1),
        body_timeout_seconds=env_float("TOLLGATE_BODY_TIMEOUT_SECONDS", 60.0, minimum=0.1),
        max_header_bytes=env_int("TOLLGATE_MAX_HEADER_BYTES", 64 * 1024, minimum=1024),
        # Per worker, open streams and idle keep-alive connections alike: past it, 503.
        max_connections=env_int("TOLLGATE_MAX_CONNECTIONS", 4096, minimum=1),
        backlog=env_int("TOLLGATE_BACKLOG", 2048, minimum=1),
        trusted_proxies=trusted_proxies(env_list("TOLLGATE_TRUSTED_PROXIES")),
        # Off: no request line at all (the usage log keeps every /v1 request anyway); the
        # line costs the relay about 20 µs of CPU a request (`make bench`).
        access_log=env_bool("TOLLGATE_ACCESS_LOG", True),
    )


def trusted_proxies(items: list[str]) -> tuple[str, ...]:
    """Validated proxy addresses and networks; uvicorn would silently ignore a malformed one."""
    for item in items:
        if item == "*":
            continue
        try:
            if "/" in item:
                ipaddress.ip_network(item)
            else:
                ipaddress.ip_address(item)
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"TOLLGATE_TRUSTED_PROXIES: {item!r} is not an IP address or network ({exc})"
            ) from None
    return tuple(items)


def uvicorn_options(options: ServingOptions) -> dict[str, Any]:
    """uvicorn Config arguments; keep-alive and backlog are gunicorn's (gunicorn_conf)."""
    return {
        "http": bounded_protocol(
            header_timeout=options.header_timeout_seconds,
            body_timeout=options.body_timeout_seconds,
            max_header_bytes=options.max_header_bytes,
        ),
        "limit_concurrency": options.max_connections,
        # Without a named proxy, X-Forwarded-For is never read: the peer is the client.
        "proxy_headers": bool(options.trusted_proxies),
        "forwarded_allow_ips": list(options.trusted_proxies),
        "server_header": False,
        "access_log": options.access_log,
        # The app speaks lifespan: an exception escaping its startup is a failure to boot,
        # not uvicorn's "auto" guess that lifespan is unsupported (logged at INFO, and the
        # worker then serves without the relay's warm-up and background work).
        "lifespan": "on",
    }


def raise_open_file_limit(max_connections: int) -> None:
    """Lift the soft descriptor limit toward what max_connections needs (a client and an
    upstream socket per stream); the hard limit is the administrator's to raise."""
    wanted = 2 * max_connections + 256
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        if target > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        if target < wanted:
            log.warning(
                "open file limit %d is below the %d that TOLLGATE_MAX_CONNECTIONS=%d needs",
                target,
                wanted,
                max_connections,
            )


class TollgateWorker(UvicornWorker):
    """gunicorn's uvicorn worker with Tollgate's connection bounds and log redaction."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Read by UvicornWorker.__init__ when it builds uvicorn's Config.
        self.CONFIG_KWARGS = {**UvicornWorker.CONFIG_KWARGS, **uvicorn_options(serving_options())}
        super().__init__(*args, **kwargs)
        redact_server_logs()


def redact_server_logs() -> None:
    """The access line carries the full query string: take credentials out of it."""
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactCredentials) for existing in logger.filters):
            logger.addFilter(RedactCredentials())
