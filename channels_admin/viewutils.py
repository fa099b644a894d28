"""What every channel page shares: the "back" URL and the row fragment."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from channels_admin.models import Channel
from channels_admin.probe import ChannelTestResult
from core.adminui import back_url as shared_back_url


def back_url(request: HttpRequest, default: str | None = None) -> str:
    """Where a channel form goes after it is handled; the channel list unless told otherwise."""
    return shared_back_url(request, default or reverse("channels_admin:list"))


def render_row(
    request: HttpRequest,
    channel: Channel,
    *,
    errors: dict[str, list[str]] | None = None,
    values: dict[str, str] | None = None,
    test_result: ChannelTestResult | None = None,
    new: bool = False,
) -> HttpResponse:
    """The table row of one channel: what every inline action answers an htmx request with."""
    return render(
        request,
        "channels_admin/_row.html",
        {
            "channel": channel,
            "row_errors": errors or {},
            "row_values": values or {},
            "test_result": test_result,
            "back_url": back_url(request),
            "new_row": new,
        },
    )
