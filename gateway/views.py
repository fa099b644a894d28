"""The admin panel's shell: who may see it, logging in and out, and the home page (the
dashboard: the overview's counts above usage.dashboard_views' sections)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET
from django_otp import DEVICE_ID_SESSION_KEY

from accounts.selectors import two_factor_enabled
from accounts.services import record_sign_in
from audit.services import actor_from_request
from channels_admin.models import Channel, ChannelStatus
from channels_admin.selectors import failed_last_test_count
from core.adminui import (
    is_fragment_request,
    public_base_url,
    render_page_or_fragment,
    staff_required,
)
from gateway.forms import StaffLoginForm
from tokens.models import AdminKey, Token, TokenStatus
from tokens.selectors import expired_q
from usage.dashboard import read_range
from usage.dashboard_views import breakdown_context, dashboard_context
from usage.price_selectors import UNPRICED_SHOWN, unpriced_models


class LoginView(auth_views.LoginView):
    form_class = StaffLoginForm
    template_name = "registration/login.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # Only staff skip the form: a signed-in non-staff user may want to switch accounts.
        if request.user.is_authenticated and request.user.is_staff:
            return redirect(self.get_success_url())
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        # StaffLoginForm.clean() already gave this account a clean slate.
        response = super().form_valid(form)
        # A password alone never carries over an earlier session's second step.
        self.request.session.pop(DEVICE_ID_SESSION_KEY, None)
        user = form.get_user()
        if two_factor_enabled(user):
            # Signed in by password only: the middleware lets this session reach nothing
            # but the code page until a code is entered there.
            query = urlencode({"next": self.get_success_url()})
            return redirect(f"{reverse('accounts:verify')}?{query}")
        record_sign_in(user=user, actor=actor_from_request(self.request), method="password")
        return response

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        if form.has_error("__all__", "throttled"):
            response.status_code = 429
        return response


class LogoutView(auth_views.LogoutView):
    http_method_names = ["post", "options"]


@staff_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    if is_fragment_request(request):
        # A switch of the breakdowns' window (?range=): only that section is redrawn.
        return render_page_or_fragment(
            request,
            "gateway/overview.html",
            "usage/dashboard_breakdowns.html",
            breakdown_context(read_range(request.GET.get("range"))),
        )
    by_status = dict(
        Channel.objects.order_by()
        .values("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    channel_rows = [
        {"status": status, "label": label, "count": by_status.get(status, 0)}
        for status, label in ChannelStatus.choices
    ]
    expired = expired_q(timezone.now())
    tokens = Token.objects.aggregate(
        total=Count("id"),
        active=Count("id", filter=Q(status=TokenStatus.ENABLED) & ~expired),
        disabled=Count("id", filter=Q(status=TokenStatus.DISABLED)),
        expired=Count("id", filter=Q(status=TokenStatus.ENABLED) & expired),
    )
    unpriced = unpriced_models()
    return render_page_or_fragment(
        request,
        "gateway/overview.html",
        "usage/dashboard_breakdowns.html",
        {
            **dashboard_context(request),
            "channel_rows": channel_rows,
            "channel_total": sum(by_status.values()),
            "failed_tests": failed_last_test_count(),
            "tokens": tokens,
            "admin_key_count": AdminKey.objects.count(),
            "base_url": public_base_url(request),
            "unpriced_shown": unpriced[:UNPRICED_SHOWN],
            "unpriced_more": max(len(unpriced) - UNPRICED_SHOWN, 0),
        },
    )
