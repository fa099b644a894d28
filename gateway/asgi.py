"""ASGI entry point: /v1 goes straight to the relay, everything else to Django.

The relay skips Django's request handler: under ASGI each of Django's middleware hooks and
its request signals cost a thread hop, about a millisecond per request in all, which the hot
path does not need. The admin pages and the admin API keep the whole Django stack.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")

django_application = get_asgi_application()

from gateway.relay.app import RelayApp  # noqa: E402  (needs Django set up first)

relay_application = RelayApp()


async def application(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] == "http" and (scope["path"] == "/v1" or scope["path"].startswith("/v1/")):
        await relay_application(scope, receive, send)
    elif scope["type"] == "lifespan":
        await relay_application.lifespan(scope, receive, send)
    else:
        await django_application(scope, receive, send)
