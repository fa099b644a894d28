"""GET /api/usage: usage records for programs, filtered, newest first, in numbered pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from core.api import api_view, bad_parameter, check_query_params, json_response, positive_int_param
from usage.selectors import (
    FILTER_PARAMS,
    FilterError,
    filter_records,
    parse_filters,
    record_as_dict,
)

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
