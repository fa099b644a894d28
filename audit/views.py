"""The audit log page: newest first, filtered and paged like the other admin lists."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from audit.models import AuditEvent
from audit.presentation import event_rows
from audit.selectors import TIME_FILTERS, filter_choices, filter_events, parse_filters
from core.adminui import (
    HtmxHttpRequest,
    is_fragment_request,
    render_list,
    staff_required,
)
from core.listing import ListPage, ListSpec, ListState

PAGE_SIZE = 50
EVENT_LIST = ListSpec("audit:list", target="#audit-table", per_page=PAGE_SIZE)
PARAM_LABELS = {
    "q": gettext_lazy("Search"),
    "actor": gettext_lazy("Actor"),
    "action": gettext_lazy("Action"),
    "object_type": gettext_lazy("Object type"),
    "object_id": gettext_lazy("Object id"),
    "since": gettext_lazy("From"),
    "until": gettext_lazy("To"),
}


@staff_required
@require_GET
def event_list(request: HtmxHttpRequest) -> HttpResponse:
    # The audit filters are parsed by audit.selectors, which the API shares: a bad value is
    # reported, not silently dropped.
    filters, errors = parse_filters(request.GET)
    # What the form shows back: the values as typed, so a bad date can be corrected.
    shown = {
        name: getattr(filters, name) for name in ("actor", "action", "object_type", "object_id")
    }
    shown.update({name: request.GET.get(name, "").strip() for name in TIME_FILTERS})
    state = ListState(q=filters.q, filters=shown)
    listing: ListPage[AuditEvent] = EVENT_LIST.paginate(request, filter_events(filters), state)
    choices = filter_choices()
    for name, options in choices.items():
        # A value from a link or an older event stays selectable, or the form would drop it.
        if shown[name] and shown[name] not in {value for value, _label in options}:
            options.insert(0, (shown[name], shown[name]))
    context = {
        "rows": event_rows(listing.page.object_list),
        "errors": [(PARAM_LABELS[param], message) for param, message in errors.items()],
        "error_params": set(errors),
        "choices": choices,
    }
    # htmx swaps only 2xx answers; a fragment carries its error note in a 200.
    status = 400 if errors and not is_fragment_request(request) else 200
    return render_list(
        request, "audit/list.html", "audit/_table.html", listing, context, status=status
    )
