"""The Prices page: model prices (list, add or change, delete) and group multipliers.

A price is set with one form at the top of the page (a plain POST that redirects, or shows
the page again with its errors); a row's Edit link fills that form in (?model=...). Deleting
and changing a group's multiplier work from the rows: htmx swaps the row, a plain form post
redirects back, so the page works without JavaScript too.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from audit.services import actor_from_request
from core.adminui import (
    HtmxHttpRequest,
    is_fragment_request,
    render_page_or_fragment,
    staff_required,
)
from core.money import display_money
from usage import services
from usage.forms import MAX_GROUP, GroupMultiplierForm, PriceForm
from usage.models import MAX_MODEL, ModelPrice
from usage.price_selectors import (
    GroupPrice,
    format_multiplier,
    group_price,
    group_prices,
    prices,
    unpriced_models,
)

CHANGED_EVENT = "prices-changed"


def _price_rows() -> list[dict[str, Any]]:
    currency = settings.CURRENCY
    return [
        {
            "model": price.model,
            # ?model= with "/" and every other special character escaped.
            "edit_url": f"{reverse('prices:list')}?model={quote(price.model, safe='')}",
            "delete_url": f"{reverse('prices:delete')}?model={quote(price.model, safe='')}",
            "input_per_million": display_money(price.input_per_million, currency),
            "output_per_million": display_money(price.output_per_million, currency),
            "per_request": display_money(price.per_request, currency),
        }
        for price in prices()
    ]


def _group_row(
    group: GroupPrice, *, errors: list[str] | None = None, typed: str = ""
) -> dict[str, Any]:
    return {
        "name": group.name,
        "multiplier": format_multiplier(group.price_multiplier),
        "is_set": group.is_set,
        "errors": errors or [],
        "typed": typed,
    }


def _form_for(model: str) -> PriceForm:
    """The empty form, or for ?model=... that model's price (or just its name, to add one)."""
    model = model.strip()[:MAX_MODEL]
    if not model:
        return PriceForm()
    found = ModelPrice.objects.filter(model=model).first()
    if found is not None:
        return PriceForm(price=found)
    return PriceForm(initial={"model": model})


def _page(request: HtmxHttpRequest, form: PriceForm) -> HttpResponse:
    form.models = unpriced_models()
    model = form["model"].value()
    context = {
        "form": form,
        "editing": bool(model) and ModelPrice.objects.filter(model=str(model).strip()).exists(),
        "price_rows": _price_rows(),
        "group_rows": [_group_row(group) for group in group_prices()],
        "currency": settings.CURRENCY,
    }
    return render_page_or_fragment(request, "usage/prices.html", "usage/_price_table.html", context)


@staff_required
@require_http_methods(["GET", "POST"])
def price_list(request: HtmxHttpRequest) -> HttpResponse:
    """GET: the page (htmx: the price table). POST: add or change one price."""
    if request.method != "POST":
        return _page(request, _form_for(request.GET.get("model", "")))
    form = PriceForm(request.POST)
    if not form.is_valid():
        return _page(request, form)
    price = services.price_set(**form.cleaned_data, actor=actor_from_request(request))
    messages.success(request, _("Price of “%(model)s” saved.") % {"model": price.model})
    return redirect("prices:list")


@staff_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def price_delete(request: HtmxHttpRequest) -> HttpResponseBase:
    """GET: the no-JavaScript confirmation page (htmx asks with hx-confirm). POST: delete.

    The model travels as ?model= or a POST field, not in the path: names contain "/"."""
    # htmx posts to the row's link, ?model= and all; the confirmation page posts a field.
    model = request.POST.get("model") or request.GET.get("model")
    price = get_object_or_404(ModelPrice, model=model or "")
    if request.method != "POST":
        return render(request, "usage/confirm_delete.html", {"price": price})
    services.price_delete(price=price, actor=actor_from_request(request))
    if is_fragment_request(request):
        # The row's hx-swap removes it; the table listens for the event to refresh itself.
        return trigger_client_event(HttpResponse(""), CHANGED_EVENT)
    messages.success(request, _("Price of “%(model)s” deleted.") % {"model": price.model})
    return redirect("prices:list")


@staff_required
@require_POST
@vary_on_headers("HX-Request")
def group_set(request: HtmxHttpRequest) -> HttpResponseBase:
    """Change one group's multiplier from its row."""
    form = GroupMultiplierForm(request.POST)
    if form.is_valid():
        services.group_multiplier_set(**form.cleaned_data, actor=actor_from_request(request))
        name = form.cleaned_data["name"]
        if is_fragment_request(request):
            row = _group_row(group_price(name))
            return render(request, "usage/_group_row.html", {"group": row})
        messages.success(request, _("Multiplier of group “%(name)s” saved.") % {"name": name})
        return redirect("prices:list")
    problems = [str(message) for messages_ in form.errors.values() for message in messages_]
    name = str(request.POST.get("name", ""))[:MAX_GROUP]
    typed = str(request.POST.get("price_multiplier", ""))[:40]
    if is_fragment_request(request):
        row = _group_row(group_price(name), errors=problems, typed=typed)
        return render(request, "usage/_group_row.html", {"group": row})
    for problem in problems:
        messages.error(
            request,
            _("The multiplier of “%(name)s” was not changed: %(problem)s")
            % {"name": name, "problem": problem},
        )
    return redirect("prices:list")
