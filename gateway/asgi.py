"""ASGI entry point: /v1 goes straight to the relay, /healthz and /metrics beside it, everything
else to Django.

The relay skips Django's request handler: under ASGI each of Django's middleware hooks and
its request signals cost a thread hop, about a millisecond per request in all, which the hot
path does not need. The admin pages and the admin API keep the whole Django stack.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import markcoroutinefunction
from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")

django_application = get_asgi_application()

from gateway.metrics import MetricsEndpoint  # noqa: E402
from gateway.relay.app import RelayApp  # noqa: E402  (needs Django set up first)

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def build_application(relay: RelayApp, metrics: MetricsEndpoint | None = None) -> ASGIApp:
    metrics = metrics or MetricsEndpoint(token=settings.METRICS_TOKEN, allow=settings.METRICS_ALLOW)

    # A plain function handing back the chosen app's coroutine, not a coroutine of its own
    # around it: a layer fewer that every resumption of a request's task passes through
    # (2-3 % of a relayed request's instructions, callgrind). Marked, so that servers that
    # tell ASGI 3 from ASGI 2 by asking whether the app is a coroutine function see ASGI 3.
    @markcoroutinefunction
    def application(scope: dict[str, Any], receive: Any, send: Any) -> Awaitable[None]:
        if scope["type"] == "http" and (scope["path"] == "/v1" or scope["path"].startswith("/v1/")):
            return relay(scope, receive, send)
        if scope["type"] == "http" and scope["path"] == "/healthz":
            return relay.health(scope, receive, send)
        if scope["type"] == "http" and scope["path"] == "/metrics":
            # Prometheus scrapes it every few seconds: no Django middleware or session on it.
            return metrics(scope, receive, send)
        if scope["type"] == "lifespan":
            # Django's handler does not speak lifespan; the relay uses it to warm up and close.
            return relay.lifespan(scope, receive, send)
        return django_application(scope, receive, send)

    return application


application = build_application(RelayApp())
