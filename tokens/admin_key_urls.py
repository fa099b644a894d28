"""The admin API key pages, mounted at /admin-keys/ (list, add, created, revoke)."""

from __future__ import annotations

from django.urls import path

from tokens import admin_key_views as views

app_name = "admin_keys"

urlpatterns = [
    path("", views.admin_key_list, name="list"),
    path("add/", views.admin_key_add, name="add"),
    path("<int:pk>/created/", views.admin_key_created, name="created"),
    path("<int:pk>/revoke/", views.admin_key_revoke, name="revoke"),
]
