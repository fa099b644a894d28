"""An admin's own two-factor settings, and the second step of signing in.

No URL names a user: each admin only ever sees and changes their own devices. Secrets (the
authenticator key, recovery codes) appear only in the responses that create them, never cached.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import wraps
from typing import Any

import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render, resolve_url
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.forms import CodeForm, SetupCodeForm
from accounts.qr import qr_data_uri, secret_for_typing
from accounts.selectors import (
    pending_authenticator,
    session_verified,
    two_factor_enabled,
    two_factor_status,
)
from accounts.services import CodeCheck, CodeKind
from audit.services import actor_from_request
from core.adminui import staff_required

LOW_ON_RECOVERY_CODES = 3


def _refusal(result: CodeCheck) -> str:
    if result.locked_until is not None:
        seconds = max(1, math.ceil((result.locked_until - timezone.now()).total_seconds()))
        return ngettext(
            "Too many wrong codes. Try again in %(seconds)d second.",
            "Too many wrong codes. Try again in %(seconds)d seconds.",
            seconds,
        ) % {"seconds": seconds}
    if result.kind == CodeKind.MALFORMED:
        return _(
            "Enter the 6-digit code from your authenticator app, "
            "or a recovery code (8 letters and digits)."
        )
    return _("This code is not valid. Check your phone's clock, or use a recovery code.")


def _status(result: CodeCheck) -> int:
    return 429 if result.locked_until is not None else 200


def _security_page(
    request: HttpRequest, *, form: CodeForm | None = None, status: int = 200
) -> HttpResponse:
    """The page, its two code forms empty but `form` (found by its prefix) as posted."""
    forms = {prefix: CodeForm(prefix=prefix) for prefix in ("regenerate", "disable")}
    if form is not None and form.prefix in forms:
        forms[form.prefix] = form
    context = {
        "status": two_factor_status(request.user),
        "required": settings.REQUIRE_2FA,
        "regenerate_form": forms["regenerate"],
        "disable_form": forms["disable"],
    }
    return render(request, "accounts/security.html", context, status=status)


def _refused_code(request: HttpRequest, prefix: str) -> HttpResponse | None:
    """None when the code posted in the security page's `prefix` form checks out; else that
    page again, the refusal beside the form."""
    form = CodeForm(request.POST, prefix=prefix)
    if not form.is_valid():
        return _security_page(request, form=form)
    result = services.check_code(request.user, form.cleaned_data["code"])
    if result.ok:
        return None
    form.add_error("code", _refusal(result))
    return _security_page(request, form=form, status=_status(result))


@staff_required
@require_GET
@never_cache
def security(request: HttpRequest) -> HttpResponse:
    return _security_page(request)


@staff_required
@require_POST
def setup_start(request: HttpRequest) -> HttpResponse:
    services.two_factor_begin(user=request.user)
    return redirect("accounts:setup")


def _setup_page(
    request: HttpRequest, device: Any, form: SetupCodeForm, *, status: int = 200
) -> HttpResponse:
    context = {
        "form": form,
        "qr_code": qr_data_uri(device.config_url),
        "secret": secret_for_typing(device.bin_key),
        "account": request.user.get_username(),
        "issuer": settings.OTP_TOTP_ISSUER,
        "replacing": two_factor_enabled(request.user),
    }
    return render(request, "accounts/setup.html", context, status=status)


def _while_setting_up(
    view: Callable[[HttpRequest, TOTPDevice], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Runs `view` with the authenticator being set up. With none (never started, or finished
    or replaced meanwhile) the security page instead; a posted code is told it came too late."""

    @wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        device = pending_authenticator(request.user)
        if device is None:
            if request.method == "POST":
                messages.error(request, _("This setup is no longer open. Please start again."))
            return redirect("accounts:security")
        return view(request, device)

    return wrapper


@staff_required
@require_GET
@never_cache
@_while_setting_up
def setup(request: HttpRequest, device: TOTPDevice) -> HttpResponse:
    return _setup_page(request, device, SetupCodeForm())


def _recovery_codes_page(request: HttpRequest, codes: list[str], *, first: bool) -> HttpResponse:
    shown = [services.format_recovery_code(code) for code in codes]
    context = {"codes": shown, "codes_text": "\n".join(shown), "first": first}
    return render(request, "accounts/recovery_codes.html", context)


@staff_required
@require_POST
@never_cache
@_while_setting_up
def setup_confirm(request: HttpRequest, device: TOTPDevice) -> HttpResponse:
    form = SetupCodeForm(request.POST)
    if not form.is_valid():
        return _setup_page(request, device, form)
    result = services.check_setup_code(request.user, device, form.cleaned_data["code"])
    if not result.ok:
        if result.wrong:
            form.add_error(
                "code",
                _(
                    "This code does not match. Check that the app shows a code for Tollgate "
                    "and that your phone's clock is right."
                ),
            )
        else:
            form.add_error("code", _refusal(result))
        return _setup_page(request, device, form, status=_status(result))
    codes = services.two_factor_confirm(
        user=request.user, device=device, actor=actor_from_request(request)
    )
    # This session has just proven the new device: it stays signed in.
    django_otp.login(request, device)
    return _recovery_codes_page(request, codes, first=True)


@staff_required
@require_POST
@never_cache
def recovery_codes(request: HttpRequest) -> HttpResponse:
    if not two_factor_enabled(request.user):
        return redirect("accounts:security")
    refused = _refused_code(request, "regenerate")
    if refused is not None:
        return refused
    codes = services.recovery_codes_regenerate(user=request.user, actor=actor_from_request(request))
    return _recovery_codes_page(request, codes, first=False)


@staff_required
@require_POST
def disable(request: HttpRequest) -> HttpResponse:
    if not two_factor_enabled(request.user):
        return redirect("accounts:security")
    if settings.REQUIRE_2FA:
        messages.error(
            request,
            _(
                "Two-factor sign-in is required on this gateway and cannot be turned off. "
                "You can set up a new authenticator app instead."
            ),
        )
        return redirect("accounts:security")
    refused = _refused_code(request, "disable")
    if refused is not None:
        return refused
    services.two_factor_disable(user=request.user, actor=actor_from_request(request))
    messages.success(request, _("Two-factor sign-in is off."))
    return redirect("accounts:security")


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


@require_http_methods(["GET", "HEAD", "POST"])
@never_cache
def verify(request: HttpRequest) -> HttpResponseBase:
    """The second step of signing in, after the password: a code from the app or a recovery code."""
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    next_url = _next_url(request)
    if session_verified(user) or not two_factor_enabled(user):
        return redirect(next_url)
    form = CodeForm(request.POST if request.method == "POST" else None)
    form.fields["code"].widget.attrs["autofocus"] = True
    status = 200
    if form.is_valid():
        result = services.check_code(user, form.cleaned_data["code"])
        actor = actor_from_request(request)
        if result.ok:
            # A new session key for the now fully signed-in session.
            request.session.cycle_key()
            django_otp.login(request, result.device)
            services.record_sign_in(user=user, actor=actor, method=f"{result.kind} code")
            if result.kind == CodeKind.RECOVERY:
                _warn_about_recovery_codes(request)
            return redirect(next_url)
        if result.wrong:
            services.record_refused_code(user=user, actor=actor, kind=result.kind)
        form.add_error("code", _refusal(result))
        status = _status(result)
    return render(request, "accounts/verify.html", {"form": form, "next": next_url}, status=status)


def _warn_about_recovery_codes(request: HttpRequest) -> None:
    left = two_factor_status(request.user).recovery_codes_left
    text = _("You signed in with a recovery code; it cannot be used again.")
    text += " " + ngettext(
        "%(left)d recovery code left.", "%(left)d recovery codes left.", left
    ) % {"left": left}
    if left <= LOW_ON_RECOVERY_CODES:
        text += " " + _("Make new ones on the Security page.")
    messages.warning(request, text)
