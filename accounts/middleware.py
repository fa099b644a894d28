"""The second step of sign-in: an unverified session reaches nothing but that step.

One middleware instead of a decorator, so every admin page and htmx fragment is covered,
including views behind the other apps' own `staff_required`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.deprecation import MiddlewareMixin
from django.utils.http import urlencode
from django_htmx.http import HttpResponseClientRedirect

from accounts.selectors import session_verified, two_factor_enabled

# Views any signed-in user may reach mid-sign-in: leaving, and changing the page language.
ALWAYS_OPEN = {("", "logout"), ("", "set_language")}
VERIFY_VIEW = ("accounts", "verify")
# Where a staff user without a device goes while TOLLGATE_REQUIRE_2FA is on.
ENROLMENT_VIEWS = {
    ("accounts", "security"),
    ("accounts", "setup_start"),
    ("accounts", "setup"),
    ("accounts", "setup_confirm"),
}


def _send_to(request: HttpRequest, url_name: str) -> HttpResponseBase:
    htmx = getattr(request, "htmx", None)
    if htmx:
        back = htmx.current_url_abs_path or ""
    else:
        # After the detour a POST-only URL would answer 405; the overview is a better landing.
        back = request.get_full_path() if request.method in ("GET", "HEAD") else ""
    url = reverse(url_name)
    if back:
        url = f"{url}?{urlencode({'next': back})}"
    if htmx:
        # A fragment request would swap the whole page into a table cell; reload instead.
        return HttpResponseClientRedirect(url)
    return redirect(url)


class TwoFactorMiddleware(MiddlewareMixin):
    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponseBase | None:
        match = request.resolver_match
        if match is None or match.namespace == "api":
            # The JSON admin API authenticates by admin key, never by the session.
            return None
        view = (match.namespace, match.url_name or "")
        if view in ALWAYS_OPEN:
            return None
        user = request.user
        if not user.is_authenticated:
            return None
        if session_verified(user):
            return None
        if two_factor_enabled(user):
            allowed, step = view == VERIFY_VIEW, "accounts:verify"
        elif settings.REQUIRE_2FA and user.is_active and user.is_staff:
            allowed, step = view in ENROLMENT_VIEWS, "accounts:security"
        else:
            return None
        if not allowed:
            return _send_to(request, step)
        # The page shows no navigation to places this session cannot reach yet (base.html reads
        # this; HttpRequest's stubs know only the attributes Django's own middleware set).
        request.sign_in_incomplete = True  # type: ignore[attr-defined]
        return None
