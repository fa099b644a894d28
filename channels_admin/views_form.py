"""Add and edit a channel, with the model-mapping editor and "fetch models".

The editor's buttons and "fetch models" are submit buttons of the channel form: without
JavaScript the page comes back with the change applied (nothing saved); with htmx they post to
the fragment views below and only their part of the page is swapped.
"""

from __future__ import annotations

from asgiref.sync import async_to_sync, sync_to_async
from django.contrib import messages
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from audit.services import actor_from_request
from channels_admin.forms import TICKED_MODELS, ChannelForm, posted_list
from channels_admin.mapping_editor import MappingEditor
from channels_admin.models import Channel
from channels_admin.probe import UpstreamModelsError, fetch_upstream_models
from channels_admin.services import channel_create, channel_update
from channels_admin.validation import clean_base_url, clean_key, split_names
from core.adminui import HtmxHttpRequest, staff_required


async def models_from_upstream(
    base_url: str, key: str, channel: Channel | None, type_: str = ""
) -> tuple[list[str], str | None]:
    """The upstream's model list for the entered address and key.

    On the edit page a blank address means the stored one, and a blank key the stored key, but
    only for the stored address and type: the stored key is never sent anywhere else. It is
    used here, on the server, and never sent to the browser.
    """
    typed_url = base_url.strip()
    key = key.strip()
    if not typed_url and channel is None:
        return [], _("Enter the API address first.")
    url, problem = clean_base_url(typed_url or (channel.base_url if channel else ""))
    if url is None:
        return [], problem
    if not key and channel is not None:
        if url != channel.base_url or (type_ and type_ != channel.type):
            return [], _(
                "The address or type differs from the saved one: enter the API key to fetch "
                "models from it. The stored key is only ever sent to its own address."
            )
        try:
            key = channel.api_key
        except ValueError:
            return [], _("The stored key cannot be decrypted; enter the key again.")
    if not key:
        return [], _("Enter the API key first.")
    checked_key, problem = clean_key(key)
    if checked_key is None:
        return [], problem
    try:
        models = await fetch_upstream_models(url, checked_key)
    except UpstreamModelsError as exc:
        return [], str(exc)
    if not models:
        return [], _("The upstream lists no models for this key.")
    return models, None


def _render_form(
    request: HtmxHttpRequest,
    form: ChannelForm,
    channel: Channel | None,
    *,
    fetch_error: str | None = None,
) -> HttpResponse:
    return render(
        request,
        "channels_admin/form.html",
        {
            "form": form,
            "channel": channel,
            "mapping": form.mapping,
            "fetch_error": fetch_error,
            # The key is never echoed back, so a page shown again must ask for it again.
            "key_lost": request.method == "POST" and bool(request.POST.get("key")),
        },
    )


def _channel_form_page(request: HtmxHttpRequest, channel: Channel | None) -> HttpResponseBase:
    if request.method != "POST":
        return _render_form(request, ChannelForm(channel=channel), channel)

    action = request.POST.get("action", "save")
    if action.startswith("mapping-"):
        form = ChannelForm(redisplay=request.POST, channel=channel)
        form.mapping.apply(action)
        return _render_form(request, form, channel)
    if action == "fetch-models":
        models, error = async_to_sync(models_from_upstream)(
            request.POST.get("base_url", ""),
            request.POST.get("key", ""),
            channel,
            request.POST.get("type", ""),
        )
        form = ChannelForm(redisplay=request.POST, channel=channel, fetched=models)
        return _render_form(request, form, channel, fetch_error=error)

    form = ChannelForm(request.POST, channel=channel)
    if not form.is_valid():
        return _render_form(request, form, channel)
    actor = actor_from_request(request)
    if channel is None:
        saved = channel_create(**form.cleaned_data, actor=actor)
        messages.success(request, _("Added channel “%(name)s”.") % {"name": saved.name})
    else:
        saved = channel_update(channel=channel, changes=form.cleaned_data, actor=actor)
        messages.success(request, _("Saved channel “%(name)s”.") % {"name": saved.name})
    return redirect("channels_admin:list")


@staff_required
@require_http_methods(["GET", "POST"])
def add(request: HtmxHttpRequest) -> HttpResponseBase:
    return _channel_form_page(request, None)


@staff_required
@require_http_methods(["GET", "POST"])
def edit(request: HtmxHttpRequest, pk: int) -> HttpResponseBase:
    return _channel_form_page(request, get_object_or_404(Channel, pk=pk))


@staff_required
@require_POST
def mapping_editor(request: HtmxHttpRequest) -> HttpResponse:
    """The mapping editor fragment after adding/removing a row or switching rows ⇄ JSON."""
    editor = MappingEditor.from_post(request.POST)
    editor.apply(request.POST.get("action", ""))
    return render(
        request,
        "channels_admin/_mapping.html",
        {"mapping": editor, "mapping_errors": editor.errors},
    )


@staff_required
@require_POST
async def fetch_models(request: HtmxHttpRequest) -> HttpResponse:
    """The upstream's models, offered as checkboxes next to the tag list."""
    channel = None
    channel_id = request.POST.get("channel", "")
    # ASCII digits of a size the database can hold ("²".isdigit() is true too).
    if channel_id.isascii() and channel_id.isdigit() and len(channel_id) < 19:
        channel = await Channel.objects.filter(pk=int(channel_id)).afirst()
    models, error = await models_from_upstream(
        request.POST.get("base_url", ""),
        request.POST.get("key", ""),
        channel,
        request.POST.get("type", ""),
    )
    return await sync_to_async(render)(
        request,
        "channels_admin/_fetched_models.html",
        {
            "offered": models,
            "checked": posted_list(request.POST, TICKED_MODELS),
            "existing": split_names(request.POST.get("models", "")),
            "fetch_error": error,
        },
    )
