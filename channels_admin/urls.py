"""The channel pages, mounted at /channels/ by gateway.ui_urls."""

from __future__ import annotations

from django.urls import path

from channels_admin import views, views_form, views_test

app_name = "channels_admin"

urlpatterns = [
    path("", views.channel_list, name="list"),
    path("add/", views_form.add, name="add"),
    path("<int:pk>/", views_form.edit, name="edit"),
    path("<int:pk>/inline/", views.inline, name="inline"),
    path("<int:pk>/status/", views.set_status, name="set_status"),
    path("<int:pk>/copy/", views.copy, name="copy"),
    path("<int:pk>/delete/", views.delete, name="delete"),
    path("<int:pk>/delete/confirm/", views.confirm_delete, name="confirm_delete"),
    path("<int:pk>/test/", views_test.test, name="test"),
    path("test-all/", views_test.test_all, name="test_all"),
    path("fetch-models/", views_form.fetch_models, name="fetch_models"),
    path("mapping-editor/", views_form.mapping_editor, name="mapping_editor"),
]
