"""The admin API key pages: the list with its create form, the key shown once, revoke."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from audit.services import actor_from_request
from core.adminui import (
    HtmxHttpRequest,
    is_fragment_request,
    keep_for_one_view,
    render_kept_value,
    staff_required,
)
from tokens import services
from tokens.forms import AdminKeyForm
from tokens.models import AdminKey


def _created_slot(admin_key_pk: int) -> str:
    return f"admin-key-created:{admin_key_pk}"


def _list_page(request: HtmxHttpRequest, form: AdminKeyForm) -> HttpResponse:
    context = {"form": form, "admin_keys": AdminKey.objects.all()}
    return render(request, "tokens/admin_keys.html", context)


@staff_required
@require_GET
def admin_key_list(request: HtmxHttpRequest) -> HttpResponse:
    return _list_page(request, AdminKeyForm())


@staff_required
@require_http_methods(["GET", "POST"])
def admin_key_add(request: HtmxHttpRequest) -> HttpResponse:
    """The list page's create form posts here; a GET shows that page."""
    if request.method != "POST":
        return _list_page(request, AdminKeyForm())
    form = AdminKeyForm(request.POST)
    if not form.is_valid():
        return _list_page(request, form)
    admin_key, key = services.admin_key_create(
        name=form.cleaned_data["name"], actor=actor_from_request(request)
    )
    # Redirect, so a reload never creates a second key; the next GET shows it once.
    keep_for_one_view(request, _created_slot(admin_key.pk), {"key": key})
    return redirect("admin_keys:created", pk=admin_key.pk)


@staff_required
@require_GET
@never_cache
def admin_key_created(request: HtmxHttpRequest, pk: int) -> HttpResponseBase:
    admin_key = get_object_or_404(AdminKey, pk=pk)
    return render_kept_value(
        request,
        _created_slot(admin_key.pk),
        "tokens/admin_key_created.html",
        {
            "admin_key": admin_key,
            "example_url": request.build_absolute_uri(reverse("api:channels")),
        },
        gone_message=_("The admin API key “%(name)s” was shown once and cannot be shown again.")
        % {"name": admin_key.name},
        gone_to="admin_keys:list",
    )


@staff_required
@require_http_methods(["GET", "POST"])
def admin_key_revoke(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """GET: the no-JavaScript confirmation page (htmx asks with hx-confirm). POST: revoke."""
    admin_key = get_object_or_404(AdminKey, pk=pk)
    if request.method != "POST":
        return render(request, "tokens/confirm_revoke.html", {"admin_key": admin_key})
    name = admin_key.name
    services.admin_key_revoke(admin_key=admin_key, actor=actor_from_request(request))
    if is_fragment_request(request):
        return HttpResponse("")
    messages.success(request, _("Admin API key “%(name)s” revoked.") % {"name": name})
    return redirect("admin_keys:list")
