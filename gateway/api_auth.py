"""Admin-key authentication around every JSON admin API route.

It lives here, above the apps, because admin keys belong to the tokens app while the other
apps' API views must not import it: gateway/api_urls.py wraps each route with
`admin_key_required`, outside the view's own `api_view` method check.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from core.api import render_error
from core.errors import ApiError
from tokens.models import AdminKey
from tokens.services import admin_key_find


def _bearer_key(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    return key.strip()


def _authenticate(request: HttpRequest, key: str) -> AdminKey | None:
    """The admin key behind `key`, also kept on the request so writes can say who made them."""
    admin_key = admin_key_find(key)
    if admin_key is not None:
        now = timezone.now()
        AdminKey.objects.filter(pk=admin_key.pk).update(last_used_at=now)
        admin_key.last_used_at = now
        # Read back by audit's actor_from_request (HttpRequest's stubs know only the attributes
        # Django's own middleware set).
        request.admin_key = admin_key  # type: ignore[attr-defined]
    return admin_key


def _auth_error(key: str | None) -> ApiError:
    headers = {"WWW-Authenticate": 'Bearer realm="tollgate-admin"'}
    if key is None:
        return ApiError(
            401,
            "Missing admin API key. Send the header 'Authorization: Bearer <admin key>'.",
            code="missing_api_key",
            headers=headers,
        )
    # The presented value is never echoed: it may be some other secret pasted by mistake.
    return ApiError(
        401, "Invalid or revoked admin API key.", code="invalid_api_key", headers=headers
    )


def admin_key_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse, in OpenAI's error shape, a request without a valid admin key."""
    if inspect.iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            key = _bearer_key(request)
            if key is None or await sync_to_async(_authenticate)(request, key) is None:
                return render_error(_auth_error(key))
            return await view(request, *args, **kwargs)

        return csrf_exempt(async_wrapper)

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        key = _bearer_key(request)
        if key is None or _authenticate(request, key) is None:
            return render_error(_auth_error(key))
        return view(request, *args, **kwargs)

    return csrf_exempt(wrapper)
