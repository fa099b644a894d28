"""The channel list and its row actions: status, weight and priority, copy, delete.

Every action answers an htmx request with the row fragment (or nothing, for a delete) and a
plain form post with a redirect back to the page it came from, so the list works without
JavaScript too; each sends `Vary: HX-Request`, as the answer depends on it.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from audit.services import actor_from_request
from channels_admin.forms import ChannelForm
from channels_admin.health import attach_last_hour_health
from channels_admin.listing import PAGE_SIZE, TESTED_FILTERS, find_channels, read_channel_list_state
from channels_admin.models import Channel, ChannelStatus, ChannelType
from channels_admin.selectors import groups_in_use
from channels_admin.services import channel_copy, channel_delete, channel_update
from channels_admin.viewutils import back_url, render_row
from core.adminui import HtmxHttpRequest, render_list, staff_required
from core.listing import ListPage, ListSpec

INLINE_FIELDS = ("weight", "priority")
CHANNEL_LIST = ListSpec("channels_admin:list", target="#channel-table", per_page=PAGE_SIZE)


def _field_label(name: str) -> str:
    labels = {"weight": _("Weight"), "priority": _("Priority"), "status": _("Status")}
    return labels.get(name, name)


@staff_required
@require_GET
def channel_list(request: HtmxHttpRequest) -> HttpResponse:
    state = read_channel_list_state(request.GET)
    listing: ListPage[Channel] = CHANNEL_LIST.paginate(request, find_channels(state), state)
    attach_last_hour_health(listing.page.object_list)
    context = {
        "groups": groups_in_use(),
        "statuses": ChannelStatus.choices,
        "types": ChannelType.choices,
        "tested_filters": TESTED_FILTERS,
        "total": Channel.objects.count(),
        # Rows send their no-JavaScript forms back to this very list.
        "back_url": listing.url,
    }
    return render_list(
        request, "channels_admin/list.html", "channels_admin/_table.html", listing, context
    )


def _row_failure(
    request: HtmxHttpRequest,
    channel: Channel,
    errors: dict[str, list[str]],
    values: dict[str, str],
) -> HttpResponseBase:
    if request.htmx:
        return render_row(request, channel, errors=errors, values=values)
    for name, problems in errors.items():
        for problem in problems:
            messages.error(
                request,
                _("“%(channel)s” was not changed. %(field)s: %(problem)s")
                % {"channel": channel.name, "field": _field_label(name), "problem": problem},
            )
    return redirect(back_url(request))


def _row_success(request: HtmxHttpRequest, channel: Channel, message: str) -> HttpResponseBase:
    if request.htmx:
        return render_row(request, channel)
    messages.success(request, message)
    return redirect(back_url(request))


@staff_required
@require_POST
@vary_on_headers("HX-Request")
def inline(request: HtmxHttpRequest, pk: int) -> HttpResponseBase:
    """Change the weight and/or the priority from the list."""
    channel = get_object_or_404(Channel, pk=pk)
    changes = {name: request.POST[name] for name in INLINE_FIELDS if name in request.POST}
    if not changes:
        return _row_failure(request, channel, {"weight": [_("Enter a weight or a priority.")]}, {})
    form = ChannelForm.from_json(changes, partial=True, channel=channel)
    if not form.is_valid():
        return _row_failure(request, channel, form.validation_error().message_dict, changes)
    channel_update(channel=channel, changes=form.cleaned_data, actor=actor_from_request(request))
    return _row_success(request, channel, _("Saved “%(name)s”.") % {"name": channel.name})


@staff_required
@require_POST
@vary_on_headers("HX-Request")
def set_status(request: HtmxHttpRequest, pk: int) -> HttpResponseBase:
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


def _list_back_url(request: HtmxHttpRequest, channel: Channel) -> str:
    # Never back to the deleted channel's own page.
    url = back_url(request)
    if url.split("?")[0] == reverse("channels_admin:edit", args=[channel.pk]):
        return reverse("channels_admin:list")
    return url


@staff_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def delete(request: HtmxHttpRequest, pk: int) -> HttpResponseBase:
    """GET: the no-JavaScript way to delete, a page that asks first (htmx posts directly, after
    hx-confirm). POST: delete."""
    channel = get_object_or_404(Channel, pk=pk)
    after = _list_back_url(request, channel)
    if request.method == "GET":
        return render(
            request, "channels_admin/confirm_delete.html", {"channel": channel, "back_url": after}
        )
    name = channel.name
    channel_delete(channel=channel, actor=actor_from_request(request))
    if request.htmx:
        # The row is swapped for nothing: it disappears.
        return HttpResponse("")
    messages.success(request, _("Deleted “%(name)s”.") % {"name": name})
    return redirect(after)


@staff_required
@require_POST
@vary_on_headers("HX-Request")
def copy(request: HtmxHttpRequest, pk: int) -> HttpResponseBase:
    """Duplicate a channel, key included; htmx puts the new row under the original.

    Without htmx the answer is a redirect to the copy's edit page, so reloading it never
    makes a second copy.
    """
    channel = get_object_or_404(Channel, pk=pk)
    duplicate = channel_copy(channel=channel, actor=actor_from_request(request))
    if request.htmx:
        return render_row(request, duplicate, new=True)
    messages.success(
        request, _("Copied “%(name)s”. You are editing the copy.") % {"name": channel.name}
    )
    return redirect("channels_admin:edit", pk=duplicate.pk)
