"""The built-in channel test: one channel from its row or edit page, or "Test all".

"Test all" with htmx answers at once with a panel of pending channels; each one posts its own
test, queued on one of TEST_CONCURRENCY lanes (hx-sync), so at most that many run at a time
and each row updates as its result arrives. Without JavaScript the server runs the same
bounded batch (`run_channel_tests`) and answers with every result on one page.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import aget_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from audit.services import actor_from_request
from channels_admin.models import Channel, ChannelStatus
from channels_admin.probe import ChannelTestResult, run_channel_test, run_channel_tests
from channels_admin.services import channel_record_test_all
from channels_admin.viewutils import back_url, render_row
from core.adminui import HtmxHttpRequest, staff_required

# Channel tests in flight at once, in the browser (lanes) and on the server alike.
TEST_CONCURRENCY = 4
TEST_SCOPES = ("enabled", "all")


def _test_response(
    request: HtmxHttpRequest, channel: Channel, result: ChannelTestResult
) -> HttpResponseBase:
    fragment = request.POST.get("fragment", "row")
    if request.htmx:
        if fragment == "result":
            return render(
                request,
                "channels_admin/_test_result.html",
                {"result": result, "channel": channel, "show_time": True},
            )
        if fragment == "run":
            return render(
                request,
                "channels_admin/_test_run_item.html",
                {"result": result, "channel": channel, "back_url": back_url(request)},
            )
        return render_row(request, channel, test_result=result)
    if result.ok:
        messages.success(
            request,
            _("“%(name)s” passed the test in %(ms)s ms.")
            % {"name": channel.name, "ms": result.latency_ms},
        )
    else:
        messages.error(
            request,
            _("“%(name)s” failed the test: %(error)s")
            % {"name": channel.name, "error": result.error},
        )
    return redirect(back_url(request, default=reverse("channels_admin:edit", args=[channel.pk])))


@staff_required
@require_POST
@vary_on_headers("HX-Request")
async def test(request: HtmxHttpRequest, pk: int) -> HttpResponseBase:
    """Send one minimal real chat completion through the channel and show how it went."""
    channel = await aget_object_or_404(Channel, pk=pk)
    result = await run_channel_test(channel, actor=actor_from_request(request))
    return await sync_to_async(_test_response)(request, channel, result)


def _channels_to_test(scope: str) -> list[Channel]:
    channels = Channel.objects.all()
    if scope != "all":
        # Auto-disabled channels are included: a pass is what puts them back in rotation.
        channels = channels.exclude(status=ChannelStatus.DISABLED)
    return list(channels)


@staff_required
@require_POST
@vary_on_headers("HX-Request")
async def test_all(request: HtmxHttpRequest) -> HttpResponse:
    scope = request.POST.get("scope", "enabled")
    if scope not in TEST_SCOPES:
        scope = "enabled"
    channels = await sync_to_async(_channels_to_test)(scope)
    actor = actor_from_request(request)
    await sync_to_async(channel_record_test_all)(actor=actor, scope=scope, count=len(channels))
    if request.htmx:
        return await sync_to_async(render)(
            request,
            "channels_admin/_test_run.html",
            {
                "items": [
                    (channel, index % TEST_CONCURRENCY) for index, channel in enumerate(channels)
                ],
                "lanes": range(TEST_CONCURRENCY),
                "total": len(channels),
                "scope": scope,
            },
        )
    results = await run_channel_tests(channels, actor=actor, concurrency=TEST_CONCURRENCY)
    passed = sum(1 for result in results if result.ok)
    return await sync_to_async(render)(
        request,
        "channels_admin/test_all.html",
        {
            "rows": list(zip(channels, results, strict=True)),
            "passed": passed,
            "failed": len(results) - passed,
            "scope": scope,
        },
    )
