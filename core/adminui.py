"""The admin panel's shell, shared by every app's pages: who may see them, the typed htmx
request, page-or-fragment answers, values shown exactly once after a redirect, safe return URLs,
and the base URL handed to users. /work/notes/adminui.md (and the README's admin section) show
how a page uses them."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from core.crypto import decrypt_secret, encrypt_secret
from core.listing import ListPage

View = Callable[..., Any]
FORBIDDEN_TEMPLATE = "gateway/forbidden.html"
# Session slot of the values kept for one view (see `keep_for_one_view`).
_ONCE_SLOT = "adminui.once"
# A kept value nobody came to see (the redirect was never followed) is dropped after this.
ONCE_MAX_AGE_SECONDS = 300


class HtmxHttpRequest(HttpRequest):
    """What django-htmx's middleware makes of every request: type views' requests as this."""

    htmx: HtmxDetails


def is_fragment_request(request: HttpRequest) -> bool:
    """An htmx request that wants a fragment: not a history restore, which needs the whole page."""
    htmx: HtmxDetails | None = getattr(request, "htmx", None)
    if not htmx:
        return False
    return not htmx.history_restore_request and not htmx.boosted


def render_page_or_fragment(
    request: HttpRequest,
    page_template: str,
    fragment_template: str,
    context: Mapping[str, Any],
    *,
    status: int = 200,
    push_url: str | None = None,
) -> HttpResponse:
    """The whole page, or only its fragment for htmx, from one URL.

    Sends `Vary: HX-Request`, so no cache hands a fragment to a plain page load or the
    reverse. `push_url` (a tidy address of what is shown) goes to htmx as `HX-Push-Url`.
    """
    fragment = is_fragment_request(request)
    response = render(
        request, fragment_template if fragment else page_template, context, status=status
    )
    if fragment and push_url is not None:
        response["HX-Push-Url"] = push_url
    patch_vary_headers(response, ["HX-Request"])
    return response


def render_list(
    request: HttpRequest,
    page_template: str,
    fragment_template: str,
    listing: ListPage[Any],
    context: Mapping[str, Any],
    *,
    status: int = 200,
) -> HttpResponse:
    """A list's page, or for htmx its table fragment with the list's tidy address pushed to
    the browser's history. The templates get `listing` besides `context`."""
    return render_page_or_fragment(
        request,
        page_template,
        fragment_template,
        {"listing": listing, **context},
        status=status,
        push_url=listing.url,
    )


def keep_for_one_view(request: HttpRequest, name: str, value: Mapping[str, str]) -> None:
    """Keep `value` for exactly one `take_kept_value(request, name)`: POST-redirect-GET.

    A create's POST keeps what only it knows (a new key) and redirects; the GET it redirects
    to takes and shows it, once. The value waits in the server-side session (Django's database
    sessions, never a cookie), encrypted with the gateway's key, and is gone once taken; one
    nobody came to take (the redirect was never followed) is dropped after
    ONCE_MAX_AGE_SECONDS. Put the object's id in `name`, so two creates in two tabs keep apart.
    """
    kept = _fresh(request.session.get(_ONCE_SLOT) or {})
    kept[name] = {"at": time.time(), "value": encrypt_secret(json.dumps(dict(value)))}
    request.session[_ONCE_SLOT] = kept


def take_kept_value(request: HttpRequest, name: str) -> dict[str, str] | None:
    """What `keep_for_one_view` kept under `name`, removed from the session; None after that."""
    kept = request.session.get(_ONCE_SLOT)
    if not kept:
        return None
    entry = kept.pop(name, None)
    kept = _fresh(kept)
    if kept:
        request.session[_ONCE_SLOT] = kept
    else:
        del request.session[_ONCE_SLOT]
    if entry is None or not _is_fresh(entry):
        return None
    try:
        value = json.loads(decrypt_secret(entry["value"]))
    except ValueError:  # encrypted under a key the gateway no longer has
        return None
    return {str(key): str(item) for key, item in value.items()}


def render_kept_value(
    request: HttpRequest,
    name: str,
    template: str,
    context: Mapping[str, Any],
    *,
    gone_message: str,
    gone_to: str,
) -> HttpResponseBase:
    """The GET a create redirected to: `template` with what `keep_for_one_view` kept under
    `name` (its values join `context`), once. After that (a reload, Back) the value is gone:
    `gone_message` on the page `gone_to` (a URL name) instead."""
    kept = take_kept_value(request, name)
    if kept is None:
        messages.info(request, gone_message)
        return redirect(gone_to)
    return render(request, template, {**context, **kept})


def _is_fresh(entry: Any) -> bool:
    return isinstance(entry, dict) and time.time() - entry.get("at", 0) <= ONCE_MAX_AGE_SECONDS


def _fresh(kept: dict[str, Any]) -> dict[str, Any]:
    return {name: entry for name, entry in kept.items() if _is_fresh(entry)}


def _login_redirect(request: HttpRequest) -> HttpResponseBase:
    htmx: HtmxDetails | None = getattr(request, "htmx", None)
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
    htmx: HtmxDetails | None = getattr(request, "htmx", None)
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
