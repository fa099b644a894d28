"""The JSON admin API's routes: every one, the catch-all included, needs an admin key."""

from __future__ import annotations

from django.urls import path, re_path

from audit import api as audit_api
from channels_admin import api as channels_api
from core.api import unknown_route
from gateway.api_auth import admin_key_required
from tokens import api as tokens_api
from usage import api as usage_api

app_name = "api"

urlpatterns = [
    path("channels", admin_key_required(channels_api.channels), name="channels"),
    path("channels/<int:channel_id>", admin_key_required(channels_api.channel), name="channel"),
    path(
        "channels/<int:channel_id>/test",
        admin_key_required(channels_api.channel_test),
        name="channel-test",
    ),
    path("tokens", admin_key_required(tokens_api.tokens), name="tokens"),
    path("tokens/<int:token_id>", admin_key_required(tokens_api.token), name="token"),
    path("audit", admin_key_required(audit_api.events), name="audit"),
    path("usage", admin_key_required(usage_api.records), name="usage"),
    path("prices", admin_key_required(usage_api.price_list), name="prices"),
    # Model names may contain "/" ("org/model"): the rest of the path is the name.
    path("prices/<path:model>", admin_key_required(usage_api.price), name="price"),
    path("groups", admin_key_required(usage_api.group_list), name="groups"),
    path("groups/<path:name>", admin_key_required(usage_api.group), name="group"),
    re_path(r"", admin_key_required(unknown_route)),
]
