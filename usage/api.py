"""JSON admin API of metering: usage records (GET /api/usage, filtered, newest first, in
numbered pages), model prices (/api/prices) and group multipliers (/api/groups).

Prices and multipliers are checked by usage.forms, the forms of the Prices page; money goes
out as decimal strings and comes in as strings or numbers.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

from audit.services import actor_from_request
from core.api import (
    api_view,
    bad_parameter,
    check_query_params,
    json_response,
    no_content,
    positive_int_param,
    read_json_object,
)
from core.errors import ApiError
from usage.forms import GroupMultiplierForm, PriceForm
from usage.models import ModelPrice
from usage.price_selectors import group_price, group_prices, price_as_dict, prices
from usage.selectors import (
    FILTER_PARAMS,
    FilterError,
    filter_records,
    parse_filters,
    record_as_dict,
)
from usage.services import group_multiplier_set, price_delete, price_set

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
PAGING_PARAMS = ("page", "page_size")


@api_view("GET")
def records(request: HttpRequest) -> HttpResponse:
    check_query_params(request, FILTER_PARAMS + PAGING_PARAMS)
    try:
        filters = parse_filters(request.GET)
    except FilterError as exc:
        raise bad_parameter(exc.param, exc.message) from None
    page = positive_int_param(request, "page", 1, max_digits=9) or 1
    page_size = positive_int_param(request, "page_size", DEFAULT_PAGE_SIZE, max_digits=9)
    assert page_size is not None
    if page_size > MAX_PAGE_SIZE:
        raise bad_parameter("page_size", f"'page_size' is at most {MAX_PAGE_SIZE}.")
    found = filter_records(filters)
    start = (page - 1) * page_size
    return json_response(
        {
            "data": [record_as_dict(record) for record in found[start : start + page_size]],
            "total": found.count(),
        }
    )


def _named(body: dict[str, Any], field: str, name: str) -> dict[str, Any]:
    """The body with the name the URL gives; a body may repeat it (as GET shows it), not
    contradict it."""
    if field in body and body[field] != name:
        raise ValidationError({field: ["Does not match the name in the URL."]})
    return {**body, field: name}


@api_view("GET")
def price_list(request: HttpRequest) -> HttpResponse:
    check_query_params(request, ())
    return json_response({"data": [price_as_dict(price) for price in prices()]})


@api_view("GET", "PUT", "DELETE")
def price(request: HttpRequest, model: str) -> HttpResponse:
    """PUT replaces the whole price: an amount left out is 0."""
    found = ModelPrice.objects.filter(model=model).first()
    if request.method == "PUT":
        form = PriceForm.from_json(_named(read_json_object(request), "model", model), partial=False)
        if not form.is_valid():
            raise form.validation_error()
        saved = price_set(**form.cleaned_data, actor=actor_from_request(request))
        return json_response(price_as_dict(saved))
    if found is None:
        raise ApiError(404, "No price for this model.", code="not_found")
    if request.method == "DELETE":
        price_delete(price=found, actor=actor_from_request(request))
        return no_content()
    return json_response(price_as_dict(found))


@api_view("GET")
def group_list(request: HttpRequest) -> HttpResponse:
    check_query_params(request, ())
    return json_response({"data": [group.as_dict() for group in group_prices()]})


@api_view("PUT")
def group(request: HttpRequest, name: str) -> HttpResponse:
    form = GroupMultiplierForm.from_json(
        _named(read_json_object(request), "name", name), partial=False
    )
    if not form.is_valid():
        raise form.validation_error()
    group_multiplier_set(**form.cleaned_data, actor=actor_from_request(request))
    return json_response(group_price(form.cleaned_data["name"]).as_dict())
