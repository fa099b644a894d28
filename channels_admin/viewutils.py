"""What every channel page shares: the staff check, the safe "back" URL, the row fragment."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.template import TemplateDoesNotExist
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect

from channels_admin.models import Channel

View = Callable[..., Any]
FORBIDDEN_TEMPLATE = "gateway/forbidden.html"


def _login_redirect(request: HttpRequest) -> HttpResponseBase:
    htmx = getattr(request, "htmx", None)
    if htmx:
        # A fragment request would swap the login page into a table row; reload instead.
        return HttpResponseClientRedirect(
            redirect_to_login(htmx.current_url_abs_path or reverse("channels_admin:list")).url
        )
    return redirect_to_login(request.get_full_path())


def _forbidden(request: HttpRequest) -> HttpResponse:
    try:
        return render(request, FORBIDDEN_TEMPLATE, status=403)
    except TemplateDoesNotExist:
        raise PermissionDenied from None


def staff_required(view: View) -> View:
    """Anonymous visitors go to the login page; signed-in non-staff users get a 403.

    Works for async views too, where `request.user` must not be touched lazily.
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


def back_url(request: HttpRequest, default: str | None = None) -> str:
    """Where a no-JavaScript form goes after it is handled: its `next`, else the page it was on."""
    candidates = [request.POST.get("next"), request.GET.get("next")]
    htmx = getattr(request, "htmx", None)
    if htmx:
        candidates.append(htmx.current_url)
    for candidate in candidates:
        url = safe_local_url(request, candidate)
        if url:
            return url
    return default or reverse("channels_admin:list")


def render_row(
    request: HttpRequest,
    channel: Channel,
    *,
    errors: dict[str, list[str]] | None = None,
    values: dict[str, str] | None = None,
    test_result: Any = None,
    new: bool = False,
) -> HttpResponse:
    """The table row of one channel: what every inline action answers an htmx request with."""
    return render(
        request,
        "channels_admin/_row.html",
        {
            "channel": channel,
            "row_errors": errors or {},
            "row_values": values or {},
            "test_result": test_result,
            "back_url": back_url(request),
            "new_row": new,
        },
    )
