"""The log pages' routes (usage app)."""

from __future__ import annotations

from django.urls import URLPattern, path

from usage import log_views

app_name = "logs"

urlpatterns: list[URLPattern] = [
    path("", log_views.log_list, name="list"),
    path("export.csv", log_views.log_export, name="export"),
    path("<int:pk>/", log_views.log_detail, name="detail"),
]
