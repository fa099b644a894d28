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
from core.api import api_view, json_response
from core.errors import ApiError

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
PAGING_PARAMS = ("limit", "after")


def _bad(param: str, message: str) -> ApiError:
    return ApiError(400, message, code="invalid_parameter", param=param)


def _positive_int(request: HttpRequest, param: str, default: int | None) -> int | None:
    raw = request.GET.get(param, "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18 or int(raw) < 1:
        raise _bad(param, f"'{param}' must be a positive whole number.")
    return int(raw)


@api_view("GET")
def events(request: HttpRequest) -> HttpResponse:
    unknown = sorted(set(request.GET) - set(FILTER_PARAMS) - set(PAGING_PARAMS))
    if unknown:
        allowed = ", ".join(FILTER_PARAMS + PAGING_PARAMS)
        raise ApiError(
            400,
            f"Unknown query parameter '{unknown[0]}'. Allowed: {allowed}.",
            code="unknown_parameter",
            param=unknown[0],
        )
    for param in request.GET:
        if len(request.GET.getlist(param)) > 1:
            raise _bad(param, f"'{param}' is given more than once.")
    filters, errors = parse_filters(request.GET)
    if errors:
        param, message = next(iter(errors.items()))
        raise _bad(param, f"'{param}': {message}")
    limit = _positive_int(request, "limit", DEFAULT_LIMIT)
    assert limit is not None
    if limit > MAX_LIMIT:
        raise _bad("limit", f"'limit' is at most {MAX_LIMIT}.")
    found = filter_events(filters)
    after = _positive_int(request, "after", None)
    if after is not None:
        cursor = AuditEvent.objects.filter(pk=after).values("at", "id").first()
        if cursor is None:
            raise _bad("after", "'after' names no audit event.")
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
