"""JSON admin API for channels: list, create, read, change, delete, test."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from audit.services import actor_from_request
from channels_admin.forms import ChannelForm
from channels_admin.models import Channel
from channels_admin.probe import run_channel_test
from channels_admin.services import (
    channel_as_dict,
    channel_create,
    channel_delete,
    channel_update,
)
from core.api import (
    api_view,
    get_or_not_found,
    json_response,
    no_content,
    not_found,
    read_json_object,
)


@api_view("GET", "POST")
def channels(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        channels_found = Channel.objects.prefetch_related("keys")
        return json_response({"data": [channel_as_dict(c) for c in channels_found]})
    form = ChannelForm.from_json(read_json_object(request), partial=False)
    if not form.is_valid():
        raise form.validation_error()
    channel = channel_create(**form.cleaned_data, actor=actor_from_request(request))
    return json_response(channel_as_dict(channel), status=201)


@api_view("GET", "PATCH", "DELETE")
def channel(request: HttpRequest, channel_id: int) -> HttpResponse:
    found = get_or_not_found(Channel, channel_id, "channel")
    if request.method == "GET":
        return json_response(channel_as_dict(found))
    if request.method == "DELETE":
        channel_delete(channel=found, actor=actor_from_request(request))
        return no_content()
    form = ChannelForm.from_json(read_json_object(request), partial=True, channel=found)
    if not form.is_valid():
        raise form.validation_error()
    updated = channel_update(
        channel=found, changes=form.cleaned_data, actor=actor_from_request(request)
    )
    return json_response(channel_as_dict(updated))


@api_view("POST")
async def channel_test(request: HttpRequest, channel_id: int) -> HttpResponse:
    """A real minimal chat completion; awaited on the event loop, not in a worker thread."""
    found = await Channel.objects.filter(pk=channel_id).afirst()
    if found is None:
        raise not_found("channel")
    result = await run_channel_test(found, actor=actor_from_request(request))
    return json_response(result.as_dict())
