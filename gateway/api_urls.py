from __future__ import annotations

from django.urls import path, re_path

from audit import api as audit_api
from channels_admin import api as channels_api
from gateway.api import unknown_route
from tokens import api as tokens_api

app_name = "api"

urlpatterns = [
    path("channels", channels_api.channels, name="channels"),
    path("channels/<int:channel_id>", channels_api.channel, name="channel"),
    path("channels/<int:channel_id>/test", channels_api.channel_test, name="channel-test"),
    path("tokens", tokens_api.tokens, name="tokens"),
    path("tokens/<int:token_id>", tokens_api.token, name="token"),
    path("audit", audit_api.events, name="audit"),
    re_path(r"", unknown_route),
]
