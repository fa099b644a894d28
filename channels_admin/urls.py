"""The channel pages, mounted at /channels/ by gateway.ui_urls; names follow the admin-UI scheme
(list, add, edit, delete, set_status, then one verb per row or list action)."""

from __future__ import annotations

from django.urls import path

from channels_admin import views, views_form, views_keys, views_probe

app_name = "channels_admin"

urlpatterns = [
    path("", views.channel_list, name="list"),
    path("add/", views_form.add, name="add"),
    path("<int:pk>/", views_form.edit, name="edit"),
    path("<int:pk>/inline/", views.inline, name="inline"),
    path("<int:pk>/status/", views.set_status, name="set_status"),
    path("<int:pk>/copy/", views.copy, name="copy"),
    path("<int:pk>/delete/", views.delete, name="delete"),
    path("<int:pk>/keys/<int:index>/remove/", views_keys.key_remove, name="key_remove"),
    path("<int:pk>/keys/<int:index>/enable/", views_keys.key_enable, name="key_enable"),
    path("<int:pk>/test/", views_probe.test, name="test"),
    path("test-all/", views_probe.test_all, name="test_all"),
    path("fetch-models/", views_form.fetch_models, name="fetch_models"),
    path("mapping-editor/", views_form.mapping_editor, name="mapping_editor"),
]
