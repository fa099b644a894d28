"""The token pages, mounted at /tokens/ (URL names as in every admin app: list, add, created,
edit, set_status, delete)."""

from __future__ import annotations

from django.urls import path

from tokens import views

app_name = "tokens"

urlpatterns = [
    path("", views.token_list, name="list"),
    path("add/", views.token_add, name="add"),
    path("<int:pk>/", views.token_edit, name="edit"),
    path("<int:pk>/created/", views.token_created, name="created"),
    path("<int:pk>/status/", views.token_set_status, name="set_status"),
    path("<int:pk>/delete/", views.token_delete, name="delete"),
]
