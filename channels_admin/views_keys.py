"""The edit page's key list: remove a key, or put a disabled one back in rotation.

Each action is a POST: htmx swaps the key list fragment; a plain form post is redirected back
to the edit page with a message. Keys are shown by index and mask only.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from audit.services import actor_from_request
from channels_admin.models import Channel
from channels_admin.services import LastKeyError, channel_key_enable, channel_key_remove
from core.adminui import HtmxHttpRequest, staff_required


def _answer(
    request: HtmxHttpRequest, channel: Channel, message: str, *, ok: bool
) -> HttpResponseBase:
    if request.htmx:
        return render(
            request,
            "channels_admin/_keys.html",
            {"channel": channel, "keys": channel.key_list(), "key_message": message, "ok": ok},
        )
    (messages.success if ok else messages.error)(request, message)
    return redirect("channels_admin:edit", pk=channel.pk)


@staff_required
@require_POST
@vary_on_headers("HX-Request")
def key_remove(request: HtmxHttpRequest, pk: int, index: int) -> HttpResponseBase:
    channel = get_object_or_404(Channel, pk=pk)
    try:
        removed = channel_key_remove(
            channel=channel, index=index, actor=actor_from_request(request)
        )
    except LastKeyError:
        return _answer(
            request,
            channel,
            _("A channel needs at least one key: add another before removing this one."),
            ok=False,
        )
    if not removed:
        return _answer(request, channel, _("That key is already gone."), ok=False)
    return _answer(request, channel, _("Removed key #%(index)s.") % {"index": index}, ok=True)


@staff_required
@require_POST
@vary_on_headers("HX-Request")
def key_enable(request: HtmxHttpRequest, pk: int, index: int) -> HttpResponseBase:
    channel = get_object_or_404(Channel, pk=pk)
    if channel_key_enable(channel=channel, index=index, actor=actor_from_request(request)):
        message = _("Key #%(index)s is back in rotation.") % {"index": index}
        return _answer(request, channel, message, ok=True)
    return _answer(request, channel, _("That key is not disabled."), ok=False)
