"""GET /api/audit: the audit log for programs, with the page's filters and cursor paging.

Paging follows OpenAI's list endpoints: `limit`, `after` (the last id of the previous page),
and `has_more`, newest first.
"""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpRequest, HttpResponse

from audit.models import AuditEvent
from audit.presentation import event_as_dict
from audit.selectors import FILTER_PARAMS, filter_events, parse_filters
from core.api import api_view, bad_parameter, check_query_params, json_response, positive_int_param

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
PAGING_PARAMS = ("limit", "after")


@api_view("GET")
def events(request: HttpRequest) -> HttpResponse:
    check_query_params(request, FILTER_PARAMS + PAGING_PARAMS)
    filters, errors = parse_filters(request.GET)
    if errors:
        param, message = next(iter(errors.items()))
        raise bad_parameter(param, f"'{param}': {message}")
    limit = positive_int_param(request, "limit", DEFAULT_LIMIT)
    assert limit is not None
    if limit > MAX_LIMIT:
        raise bad_parameter("limit", f"'limit' is at most {MAX_LIMIT}.")
    found = filter_events(filters)
    after = positive_int_param(request, "after", None)
    if after is not None:
        cursor = AuditEvent.objects.filter(pk=after).values("at", "id").first()
        if cursor is None:
            raise bad_parameter("after", "'after' names no audit event.")
        # The next page in the list's own order (newest first; ties by id).
        found = found.filter(Q(at__lt=cursor["at"]) | Q(at=cursor["at"], id__lt=cursor["id"]))
    window = list(found[: limit + 1])
    page = window[:limit]
    return json_response(
        {
            "object": "list",
            "data": [event_as_dict(event) for event in page],
            "first_id": page[0].pk if page else None,
            "last_id": page[-1].pk if page else None,
            "has_more": len(window) > limit,
        }
    )
