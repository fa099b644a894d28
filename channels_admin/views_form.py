"""Add and edit a channel, with the model-mapping editor and "fetch models".

The editor's buttons and "fetch models" are submit buttons of the channel form: without
JavaScript the page comes back with the change applied (nothing saved); with htmx they post to
the fragment views below and only their part of the page is swapped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from django.contrib import messages
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from audit.services import actor_from_request
from channels_admin.forms import SECRET_FIELDS, TICKED_MODELS, ChannelForm, posted_list
from channels_admin.mapping_editor import MappingEditor
from channels_admin.models import Channel, ChannelKey, ChannelType, KeyStatus
from channels_admin.presets import PRESETS, Preset, find_preset, preset_initial
from channels_admin.probe import UpstreamModelsError, fetch_upstream_models
from channels_admin.services import channel_create, channel_update
from channels_admin.validation import (
    base_url_type_problem,
    clean_api_version,
    clean_base_url,
    clean_key,
    split_names,
)
from core.adminui import HtmxHttpRequest, staff_required


def typed_key(data: Mapping[str, Any]) -> str:
    """The first key typed on the page (the add box, the edit page's box, or one key)."""
    for name in ("keys", "add_keys", "key"):
        lines = [line.strip() for line in str(data.get(name) or "").splitlines()]
        typed = [line for line in lines if line]
        if typed:
            return typed[0]
    return ""


async def _stored_key(channel: Channel) -> str | None:
    """The channel's first enabled key (else its first key), decrypted; None if none can be."""
    rows = [key async for key in ChannelKey.objects.filter(channel=channel).order_by("index")]
    rows.sort(key=lambda key: key.status != KeyStatus.ENABLED)
    for row in rows:
        try:
            return row.plaintext
        except ValueError:
            continue
    return None


async def models_from_upstream(
    base_url: str,
    key: str,
    channel: Channel | None,
    type_: str = "",
    api_version: str = "",
) -> tuple[list[str], str | None]:
    """The upstream's model list for the entered address, type and key.

    On the edit page a blank address means the stored one, and a blank key a stored key, but
    only for the stored address and type: stored keys are never sent anywhere else. They are
    used here, on the server, and never sent to the browser.
    """
    typed_url = base_url.strip()
    key = key.strip()
    if not typed_url and channel is None:
        return [], _("Enter the API address first.")
    type_ = type_ or (channel.type if channel else ChannelType.OPENAI)
    if type_ not in ChannelType.values:
        return [], _("Choose a type first.")
    url, problem = clean_base_url(typed_url or (channel.base_url if channel else ""))
    if url is None:
        return [], problem
    problem = base_url_type_problem(url, type_)
    if problem is not None:
        return [], problem
    version = ""
    if type_ == ChannelType.AZURE:
        typed_version = api_version.strip() or (channel.api_version if channel else "")
        if not typed_version:
            return [], _("Enter the API version first.")
        checked_version, problem = clean_api_version(typed_version)
        if checked_version is None:
            return [], problem
        version = checked_version
    if not key and channel is not None:
        if url != channel.base_url or type_ != channel.type:
            return [], _(
                "The address or type differs from the saved one: enter the API key to fetch "
                "models from it. The stored keys are only ever sent to their own address."
            )
        stored = await _stored_key(channel)
        if stored is None:
            return [], _("The stored key cannot be decrypted; enter the key again.")
        key = stored
    if not key:
        return [], _("Enter the API key first.")
    checked_key, problem = clean_key(key)
    if checked_key is None:
        return [], problem
    try:
        models = await fetch_upstream_models(url, checked_key, type_, version)
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
    preset: Preset | None = None,
) -> HttpResponse:
    return render(
        request,
        "channels_admin/form.html",
        {
            "form": form,
            "channel": channel,
            "mapping": form.mapping,
            "fetch_error": fetch_error,
            # Keys are never echoed back, so a page shown again must ask for them again.
            "key_lost": request.method == "POST"
            and any(str(request.POST.get(name) or "").strip() for name in SECRET_FIELDS),
            "presets": PRESETS,
            "preset": preset,
            "keys": channel.key_list() if channel else [],
        },
    )


def _channel_form_page(request: HtmxHttpRequest, channel: Channel | None) -> HttpResponseBase:
    if request.method != "POST":
        form = ChannelForm(channel=channel)
        # The provider choice without JavaScript: ?preset=deepseek fills the add form.
        preset = find_preset(request.GET.get("preset")) if channel is None else None
        if preset is not None:
            form.initial.update(preset_initial(preset))
        return _render_form(request, form, channel, preset=preset)

    action = request.POST.get("action", "save")
    if action.startswith("mapping-"):
        form = ChannelForm(redisplay=request.POST, channel=channel)
        form.mapping.apply(action)
        return _render_form(request, form, channel)
    if action == "fetch-models":
        models, error = async_to_sync(models_from_upstream)(
            request.POST.get("base_url", ""),
            typed_key(request.POST),
            channel,
            request.POST.get("type", ""),
            request.POST.get("api_version", ""),
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
        typed_key(request.POST),
        channel,
        request.POST.get("type", ""),
        request.POST.get("api_version", ""),
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
