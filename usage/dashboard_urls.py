"""The dashboard pages' routes (usage app); the dashboard itself is the home page (gateway)."""

from __future__ import annotations

from django.urls import path

from usage import dashboard_views

app_name = "dashboards"

urlpatterns = [
    path("tokens/<int:pk>/", dashboard_views.token_usage, name="token"),
    path("channels/<int:pk>/", dashboard_views.channel_health, name="channel"),
]
