"""Token and admin API key pages. Keys appear in exactly one response: the one creating them."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from audit.services import actor_from_request
from core.adminui import public_base_url, staff_required
from tokens import services
from tokens.forms import AdminKeyForm, TokenForm, apply_service_errors
from tokens.models import AdminKey, Token, TokenStatus
from tokens.validation import MAX_NAME

PAGE_SIZE = 25
# No name, group or prefix is longer than a token name.
MAX_QUERY = MAX_NAME
# `o` values a list accepts, as in Django's admin changelist.
ORDERINGS = {
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
    "expires": ("expires_at", "id"),
    "-expires": ("-expires_at", "-id"),
    "used": ("last_used_at", "id"),
    "-used": ("-last_used_at", "-id"),
}
STATUS_FILTERS = {
    "enabled": gettext_lazy("Enabled"),
    "disabled": gettext_lazy("Disabled"),
    "expired": gettext_lazy("Expired"),
}
CHANGED_EVENT = "tokens-changed"


def _is_fragment_request(request: HttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


def _filtered_tokens(request: HttpRequest) -> tuple[QuerySet[Token], dict[str, str]]:
    query = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    order = request.GET.get("o", "-created")
    tokens = Token.objects.all()
    if len(query) > MAX_QUERY or "\x00" in query:
        # Nothing stored is this long or holds a NUL (and PostgreSQL would refuse to compare).
        tokens = tokens.none()
    elif query:
        tokens = tokens.filter(
            Q(name__icontains=query) | Q(group__icontains=query) | Q(prefix__startswith=query)
        )
    # The same three buckets as the row badges: a disabled token counts as disabled, expired or not.
    expired = Q(expires_at__isnull=False, expires_at__lte=timezone.now())
    if status == "enabled":
        tokens = tokens.filter(status=TokenStatus.ENABLED).exclude(expired)
    elif status == "expired":
        tokens = tokens.filter(expired, status=TokenStatus.ENABLED)
    elif status == "disabled":
        tokens = tokens.filter(status=TokenStatus.DISABLED)
    else:
        status = ""
    if order not in ORDERINGS:
        order = "-created"
    return tokens.order_by(*ORDERINGS[order]), {"q": query, "status": status, "o": order}


@require_GET
@staff_required
def token_list(request: HttpRequest) -> HttpResponse:
    tokens, filters = _filtered_tokens(request)
    page = Paginator(tokens, PAGE_SIZE).get_page(request.GET.get("p"))
    context = {
        "page": page,
        "filters": filters,
        "status_filters": STATUS_FILTERS,
        "base_url": public_base_url(request),
        "total": Token.objects.count(),
    }
    template = "tokens/_table.html" if _is_fragment_request(request) else "tokens/list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _form_page(
    request: HttpRequest, form: TokenForm, token: Token | None, *, status: int = 200
) -> HttpResponse:
    return render(request, "tokens/form.html", {"form": form, "token": token}, status=status)


@require_GET
@staff_required
def token_new(request: HttpRequest) -> HttpResponse:
    return _form_page(request, TokenForm(), None)


@require_POST
@staff_required
@never_cache
def token_create(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    if form.is_valid():
        try:
            token, key = services.token_create(
                **form.service_data(only_changed=False), actor=actor_from_request(request)
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            # Rendered straight into this response: never stored in the session or messages.
            return render(
                request,
                "tokens/created.html",
                {"token": token, "key": key, "base_url": public_base_url(request)},
            )
    return _form_page(request, form, None)


@require_GET
@staff_required
def token_edit(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(Token, pk=pk)
    return _form_page(request, TokenForm(token=token), token)


@require_POST
@staff_required
def token_update(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(Token, pk=pk)
    form = TokenForm(request.POST, token=token)
    if form.is_valid():
        changes = form.service_data(only_changed=True)
        try:
            if changes:
                services.token_update(
                    token=token, changes=changes, actor=actor_from_request(request)
                )
        except ValidationError as exc:
            apply_service_errors(form, exc)
            token.refresh_from_db()
        else:
            messages.success(request, _("Token “%(name)s” saved.") % {"name": token.name})
            return redirect("tokens:list")
    return _form_page(request, form, token)


def _row(request: HttpRequest, token: Token, error: str = "") -> HttpResponse:
    return render(request, "tokens/_row.html", {"token": token, "row_error": error})


@require_POST
@staff_required
def token_set_status(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(Token, pk=pk)
    error = ""
    try:
        services.token_update(
            token=token,
            changes={"status": request.POST.get("status", "")},
            actor=actor_from_request(request),
        )
    except ValidationError as exc:
        token.refresh_from_db()
        error = " ".join(msg for msgs in exc.message_dict.values() for msg in msgs)
    if _is_fragment_request(request):
        return _row(request, token, error)
    if error:
        messages.error(request, error)
    elif token.status == TokenStatus.ENABLED:
        messages.success(request, _("Token “%(name)s” enabled.") % {"name": token.name})
    else:
        messages.success(request, _("Token “%(name)s” disabled.") % {"name": token.name})
    return redirect("tokens:list")


@require_GET
@staff_required
def token_delete_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(Token, pk=pk)
    return render(request, "tokens/confirm_delete.html", {"token": token})


@require_POST
@staff_required
def token_delete(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(Token, pk=pk)
    name = token.name
    services.token_delete(token=token, actor=actor_from_request(request))
    if _is_fragment_request(request):
        # The row's hx-swap removes it; the table listens for the event to refresh its counts.
        return trigger_client_event(HttpResponse(""), CHANGED_EVENT)
    messages.success(request, _("Token “%(name)s” deleted.") % {"name": name})
    return redirect("tokens:list")


def _admin_keys_page(
    request: HttpRequest, form: AdminKeyForm, *, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "tokens/admin_keys.html",
        {"form": form, "admin_keys": AdminKey.objects.all()},
        status=status,
    )


@require_GET
@staff_required
def admin_key_list(request: HttpRequest) -> HttpResponse:
    return _admin_keys_page(request, AdminKeyForm())


@require_POST
@staff_required
@never_cache
def admin_key_create(request: HttpRequest) -> HttpResponse:
    form = AdminKeyForm(request.POST)
    if form.is_valid():
        try:
            admin_key, key = services.admin_key_create(
                name=form.cleaned_data["name"], actor=actor_from_request(request)
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            return render(
                request,
                "tokens/admin_key_created.html",
                {
                    "admin_key": admin_key,
                    "key": key,
                    "example_url": request.build_absolute_uri(reverse("api:channels")),
                },
            )
    return _admin_keys_page(request, form)


@require_GET
@staff_required
def admin_key_revoke_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    admin_key = get_object_or_404(AdminKey, pk=pk)
    return render(request, "tokens/confirm_revoke.html", {"admin_key": admin_key})


@require_POST
@staff_required
def admin_key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    admin_key = get_object_or_404(AdminKey, pk=pk)
    name = admin_key.name
    services.admin_key_revoke(admin_key=admin_key, actor=actor_from_request(request))
    if _is_fragment_request(request):
        return HttpResponse("")
    messages.success(request, _("Admin API key “%(name)s” revoked.") % {"name": name})
    return redirect("tokens:admin_keys")
