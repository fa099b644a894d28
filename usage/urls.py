"""The Prices page, mounted at /prices/ (model names travel as ?model= or a POST field: they
may contain "/")."""

from __future__ import annotations

from django.urls import path

from usage import views

app_name = "prices"

urlpatterns = [
    path("", views.price_list, name="list"),
    path("delete/", views.price_delete, name="delete"),
    path("groups/", views.group_set, name="group_set"),
]
