from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("api/", include("gateway.api_urls")),
    path("", include("gateway.ui_urls")),
]
