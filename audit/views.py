"""The audit log page: newest first, filtered and paged like the other admin lists."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from audit.presentation import event_rows
from audit.selectors import filter_choices, filter_events, parse_filters
from core.adminui import staff_required

PAGE_SIZE = 50
PARAM_LABELS = {
    "q": gettext_lazy("Search"),
    "actor": gettext_lazy("Actor"),
    "action": gettext_lazy("Action"),
    "object_type": gettext_lazy("Object type"),
    "object_id": gettext_lazy("Object id"),
    "since": gettext_lazy("From"),
    "until": gettext_lazy("To"),
}


def _is_fragment_request(request: HttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


@require_GET
@staff_required
def event_list(request: HttpRequest) -> HttpResponse:
    filters, errors = parse_filters(request.GET)
    page = Paginator(filter_events(filters), PAGE_SIZE).get_page(request.GET.get("p"))
    # What the form shows back: the values as typed, so a bad date can be corrected.
    shown = {name: request.GET.get(name, "").strip() for name in ("since", "until")}
    shown.update(
        {
            name: getattr(filters, name)
            for name in ("q", "actor", "action", "object_type", "object_id")
        }
    )
    choices = filter_choices()
    for name, options in choices.items():
        # A value from a link or an older event stays selectable, or the form would drop it.
        if shown[name] and shown[name] not in {value for value, _label in options}:
            options.insert(0, (shown[name], shown[name]))
    context = {
        "page": page,
        "rows": event_rows(page.object_list),
        "filters": shown,
        "filtered": any(shown.values()),
        "errors": [(PARAM_LABELS[param], message) for param, message in errors.items()],
        "error_params": set(errors),
        "choices": choices,
    }
    fragment = _is_fragment_request(request)
    template = "audit/_table.html" if fragment else "audit/list.html"
    # htmx swaps only 2xx answers; a fragment carries its error note in a 200.
    status = 400 if errors and not fragment else 200
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response
