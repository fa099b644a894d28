"""The admin panel's shell, shared by every app's pages: who may see them, safe return URLs,
and the base URL handed to users."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect

View = Callable[..., Any]
FORBIDDEN_TEMPLATE = "gateway/forbidden.html"


def _login_redirect(request: HttpRequest) -> HttpResponseBase:
    htmx = getattr(request, "htmx", None)
    if htmx:
        # A fragment request would swap the login page into a table row; reload instead.
        return HttpResponseClientRedirect(redirect_to_login(htmx.current_url_abs_path or "/").url)
    return redirect_to_login(request.get_full_path())


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, FORBIDDEN_TEMPLATE, status=403)


def staff_required(view: View) -> View:
    """Anonymous visitors go to the login page; signed-in non-staff users get a 403 page.

    Put it above any method decorator, so an anonymous request meets the login page first
    whatever its method. Works for async views too, where `request.user` must not be touched
    lazily.
    """
    if iscoroutinefunction(view):

        @wraps(view)
        async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            user = await request.auser()
            if not user.is_authenticated:
                return _login_redirect(request)
            # Templates read request.user; the lazy object would query the DB from async code.
            request.user = user
            if not (user.is_active and user.is_staff):
                return await sync_to_async(_forbidden)(request)
            return await view(request, *args, **kwargs)

        return async_wrapper

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        user = request.user
        if not user.is_authenticated:
            return _login_redirect(request)
        if not (user.is_active and user.is_staff):
            return _forbidden(request)
        return view(request, *args, **kwargs)

    return wrapper


def safe_local_url(request: HttpRequest, url: str | None) -> str | None:
    """`url` as a path on this site, or None if it points anywhere else."""
    if not url or not url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def back_url(request: HttpRequest, default: str) -> str:
    """Where a no-JavaScript form goes after it is handled: its `next`, else the page it was on."""
    candidates = [request.POST.get("next"), request.GET.get("next")]
    htmx = getattr(request, "htmx", None)
    if htmx:
        candidates.append(htmx.current_url)
    for candidate in candidates:
        url = safe_local_url(request, candidate)
        if url:
            return url
    return default


def public_base_url(request: HttpRequest) -> str:
    """The OpenAI base URL to hand to users: TOLLGATE_PUBLIC_BASE_URL, else this host's /v1."""
    configured = settings.PUBLIC_BASE_URL.rstrip("/")
    if configured:
        return configured if configured.endswith("/v1") else f"{configured}/v1"
    return request.build_absolute_uri("/v1")
