"""The channel list and its inline actions: status, weight and priority, copy, delete.

Every action answers an htmx request with the row fragment (or nothing, for a delete) and a
plain form post with a redirect back to the page it came from, so the list works without
JavaScript too.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Page
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from audit.services import actor_from_request
from channels_admin.listing import SORT_FIELDS, ChannelFilters, all_groups, find_channels, paginate
from channels_admin.models import Channel, ChannelStatus, ChannelType
from channels_admin.services import channel_copy, channel_delete, channel_update
from channels_admin.viewutils import back_url, render_row
from core.adminui import staff_required

INLINE_FIELDS = ("weight", "priority")


def _field_label(name: str) -> str:
    labels = {"weight": _("Weight"), "priority": _("Priority"), "status": _("Status")}
    return labels.get(name, name)


def _page_links(filters: ChannelFilters, page: Page) -> list[dict[str, object]]:
    links: list[dict[str, object]] = []
    for number in page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1):
        if number == page.paginator.ELLIPSIS:
            links.append({"gap": True})
        else:
            links.append(
                {"number": number, "url": filters.url(p=number), "current": number == page.number}
            )
    return links


@staff_required
@require_GET
def channel_list(request: HttpRequest) -> HttpResponse:
    filters = ChannelFilters.from_query(request.GET)
    page = paginate(find_channels(filters), request.GET.get("p"))
    query = filters.url(p=page.number if page.number > 1 else None)
    canonical = reverse("channels_admin:list") + (query if query != "?" else "")
    context = {
        "filters": filters,
        "page": page,
        "page_links": _page_links(filters, page),
        "previous_url": filters.url(p=page.previous_page_number()) if page.has_previous() else "",
        "next_url": filters.url(p=page.next_page_number()) if page.has_next() else "",
        "sort": {key: filters.sort_link(key) for key in SORT_FIELDS},
        "groups": all_groups(),
        "statuses": ChannelStatus.choices,
        "types": ChannelType.choices,
        "total": Channel.objects.count(),
        "back_url": canonical,
    }
    htmx = request.htmx  # type: ignore[attr-defined]
    if htmx and not htmx.history_restore_request and not htmx.boosted:
        response = render(request, "channels_admin/_table.html", context)
        # The address bar gets the tidy form of the query, without the form's empty fields.
        response["HX-Push-Url"] = canonical
        return response
    return render(request, "channels_admin/list.html", context)


def _row_failure(
    request: HttpRequest, channel: Channel, errors: dict[str, list[str]], values: dict[str, str]
) -> HttpResponseBase:
    if request.htmx:  # type: ignore[attr-defined]
        return render_row(request, channel, errors=errors, values=values)
    for name, problems in errors.items():
        for problem in problems:
            messages.error(
                request,
                _("“%(channel)s” was not changed. %(field)s: %(problem)s")
                % {"channel": channel.name, "field": _field_label(name), "problem": problem},
            )
    return redirect(back_url(request))


def _row_success(request: HttpRequest, channel: Channel, message: str) -> HttpResponseBase:
    if request.htmx:  # type: ignore[attr-defined]
        return render_row(request, channel)
    messages.success(request, message)
    return redirect(back_url(request))


@staff_required
@require_POST
def inline(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Change the weight and/or the priority from the list."""
    channel = get_object_or_404(Channel, pk=pk)
    changes = {name: request.POST[name] for name in INLINE_FIELDS if name in request.POST}
    if not changes:
        return _row_failure(request, channel, {"weight": [_("Enter a weight or a priority.")]}, {})
    try:
        channel_update(channel=channel, changes=changes, actor=actor_from_request(request))
    except ValidationError as exc:
        return _row_failure(request, channel, exc.message_dict, changes)
    return _row_success(request, channel, _("Saved “%(name)s”.") % {"name": channel.name})


@staff_required
@require_POST
def set_status(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Enable or disable by hand; auto-disabling is the relay's and the test's business."""
    channel = get_object_or_404(Channel, pk=pk)
    status = request.POST.get("status", "")
    if status not in (ChannelStatus.ENABLED, ChannelStatus.DISABLED):
        return _row_failure(
            request, channel, {"status": [_("Choose enabled or disabled.")]}, {"status": status}
        )
    channel_update(channel=channel, changes={"status": status}, actor=actor_from_request(request))
    if status == ChannelStatus.ENABLED:
        message = _("Enabled “%(name)s”.") % {"name": channel.name}
    else:
        message = _("Disabled “%(name)s”.") % {"name": channel.name}
    return _row_success(request, channel, message)


@staff_required
@require_GET
def confirm_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """The no-JavaScript way to delete: a page that asks first (htmx uses hx-confirm)."""
    channel = get_object_or_404(Channel, pk=pk)
    return render(
        request,
        "channels_admin/confirm_delete.html",
        {"channel": channel, "back_url": _list_back_url(request, channel)},
    )


def _list_back_url(request: HttpRequest, channel: Channel) -> str:
    # Never back to the deleted channel's own page.
    url = back_url(request)
    if url.split("?")[0] == reverse("channels_admin:edit", args=[channel.pk]):
        return reverse("channels_admin:list")
    return url


@staff_required
@require_POST
def delete(request: HttpRequest, pk: int) -> HttpResponseBase:
    channel = get_object_or_404(Channel, pk=pk)
    name = channel.name
    after = _list_back_url(request, channel)
    channel_delete(channel=channel, actor=actor_from_request(request))
    if request.htmx:  # type: ignore[attr-defined]
        # The row is swapped for nothing: it disappears.
        return HttpResponse("")
    messages.success(request, _("Deleted “%(name)s”.") % {"name": name})
    return redirect(after)


@staff_required
@require_POST
def copy(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Duplicate a channel, key included; htmx puts the new row under the original."""
    channel = get_object_or_404(Channel, pk=pk)
    duplicate = channel_copy(channel=channel, actor=actor_from_request(request))
    if request.htmx:  # type: ignore[attr-defined]
        return render_row(request, duplicate, new=True)
    messages.success(
        request, _("Copied “%(name)s”. You are editing the copy.") % {"name": channel.name}
    )
    return redirect("channels_admin:edit", pk=duplicate.pk)
