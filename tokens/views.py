"""The token pages: list, add (the key shown once, after a redirect), edit, status, delete."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Q, QuerySet
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from audit.services import actor_from_request
from core.adminui import (
    HtmxHttpRequest,
    is_fragment_request,
    keep_for_one_view,
    public_base_url,
    render_kept_value,
    render_list,
    staff_required,
)
from core.listing import Choice, ListPage, ListSpec, ListState, read_list_state
from tokens import services
from tokens.forms import TokenForm
from tokens.models import Token, TokenStatus
from tokens.selectors import expired_q

PAGE_SIZE = 25
TOKEN_LIST = ListSpec("tokens:list", target="#token-table", per_page=PAGE_SIZE)
# `o` sort keys -> Token fields.
SORTS = {"name": "name", "created": "created_at", "expires": "expires_at", "used": "last_used_at"}
DEFAULT_ORDER = "-created"
STATUS_FILTERS = {
    "enabled": gettext_lazy("Enabled"),
    "disabled": gettext_lazy("Disabled"),
    "expired": gettext_lazy("Expired"),
}
CHANGED_EVENT = "tokens-changed"


def _created_slot(token_pk: int) -> str:
    return f"token-created:{token_pk}"


def _find_tokens(state: ListState) -> QuerySet[Token]:
    if not state.searchable:
        return Token.objects.none()
    tokens = Token.objects.all()
    if state.q:
        tokens = tokens.filter(
            Q(name__icontains=state.q) | Q(group__icontains=state.q) | Q(prefix__startswith=state.q)
        )
    # The same three buckets as the row badges: a disabled token counts as disabled, expired or not.
    expired = expired_q(timezone.now())
    status = state.filters["status"]
    if status == "enabled":
        tokens = tokens.filter(status=TokenStatus.ENABLED).exclude(expired)
    elif status == "expired":
        tokens = tokens.filter(expired, status=TokenStatus.ENABLED)
    elif status == "disabled":
        tokens = tokens.filter(status=TokenStatus.DISABLED)
    return tokens.order_by(*state.ordering(SORTS))


@staff_required
@require_GET
def token_list(request: HtmxHttpRequest) -> HttpResponse:
    state = read_list_state(
        request.GET,
        sorts=SORTS,
        default_order=DEFAULT_ORDER,
        filters={"status": Choice(STATUS_FILTERS)},
    )
    listing: ListPage[Token] = TOKEN_LIST.paginate(request, _find_tokens(state), state)
    context = {
        "status_filters": STATUS_FILTERS,
        "base_url": public_base_url(request),
        "total": Token.objects.count(),
    }
    return render_list(request, "tokens/list.html", "tokens/_table.html", listing, context)


def _form_page(request: HtmxHttpRequest, form: TokenForm, token: Token | None) -> HttpResponse:
    return render(request, "tokens/form.html", {"form": form, "token": token})


@staff_required
@require_http_methods(["GET", "POST"])
def token_add(request: HtmxHttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _form_page(request, TokenForm.for_page(), None)
    form = TokenForm.for_page(request.POST)
    if not form.is_valid():
        return _form_page(request, form, None)
    token, key = services.token_create(**form.cleaned_data, actor=actor_from_request(request))
    # Redirect, so a reload never creates a second token; the next GET shows the key once.
    keep_for_one_view(request, _created_slot(token.pk), {"key": key})
    return redirect("tokens:created", pk=token.pk)


@staff_required
@require_GET
@never_cache
def token_created(request: HtmxHttpRequest, pk: int) -> HttpResponseBase:
    token = get_object_or_404(Token, pk=pk)
    return render_kept_value(
        request,
        _created_slot(token.pk),
        "tokens/created.html",
        {"token": token, "base_url": public_base_url(request)},
        gone_message=_("The key of “%(name)s” was shown once and cannot be shown again.")
        % {"name": token.name},
        gone_to="tokens:list",
    )


@staff_required
@require_http_methods(["GET", "POST"])
def token_edit(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(Token, pk=pk)
    if request.method != "POST":
        return _form_page(request, TokenForm.for_page(token=token), token)
    form = TokenForm.for_page(request.POST, token=token)
    if not form.is_valid():
        return _form_page(request, form, token)
    changes = form.changed_values()
    if changes:
        services.token_update(token=token, changes=changes, actor=actor_from_request(request))
    messages.success(request, _("Token “%(name)s” saved.") % {"name": token.name})
    return redirect("tokens:list")


@staff_required
@require_POST
def token_set_status(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(Token, pk=pk)
    form = TokenForm.from_json({"status": request.POST.get("status", "")}, partial=True)
    error = ""
    if form.is_valid():
        services.token_update(
            token=token, changes=form.cleaned_data, actor=actor_from_request(request)
        )
    else:
        error = " ".join(str(message) for message in form.errors["status"])
    if is_fragment_request(request):
        return render(request, "tokens/_row.html", {"token": token, "row_error": error})
    if error:
        messages.error(request, error)
    elif token.status == TokenStatus.ENABLED:
        messages.success(request, _("Token “%(name)s” enabled.") % {"name": token.name})
    else:
        messages.success(request, _("Token “%(name)s” disabled.") % {"name": token.name})
    return redirect("tokens:list")


@staff_required
@require_http_methods(["GET", "POST"])
def token_delete(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """GET: the no-JavaScript confirmation page (htmx asks with hx-confirm). POST: delete."""
    token = get_object_or_404(Token, pk=pk)
    if request.method != "POST":
        return render(request, "tokens/confirm_delete.html", {"token": token})
    name = token.name
    services.token_delete(token=token, actor=actor_from_request(request))
    if is_fragment_request(request):
        # The row's hx-swap removes it; the table listens for the event to refresh its counts.
        return trigger_client_event(HttpResponse(""), CHANGED_EVENT)
    messages.success(request, _("Token “%(name)s” deleted.") % {"name": name})
    return redirect("tokens:list")
