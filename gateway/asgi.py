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

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")

django_application = get_asgi_application()

from gateway.metrics import MetricsEndpoint  # noqa: E402
from gateway.relay.app import RelayApp  # noqa: E402  (needs Django set up first)

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def build_application(relay: RelayApp, metrics: MetricsEndpoint | None = None) -> ASGIApp:
    metrics = metrics or MetricsEndpoint(token=settings.METRICS_TOKEN, allow=settings.METRICS_ALLOW)

    async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and (scope["path"] == "/v1" or scope["path"].startswith("/v1/")):
            await relay(scope, receive, send)
        elif scope["type"] == "http" and scope["path"] == "/healthz":
            await relay.health(scope, receive, send)
        elif scope["type"] == "http" and scope["path"] == "/metrics":
            # Prometheus scrapes it every few seconds: no Django middleware or session on it.
            await metrics(scope, receive, send)
        elif scope["type"] == "lifespan":
            # Django's handler does not speak lifespan; the relay uses it to warm up and close.
            await relay.lifespan(scope, receive, send)
        else:
            await django_application(scope, receive, send)

    return application


application = build_application(RelayApp())
