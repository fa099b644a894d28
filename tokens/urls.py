from __future__ import annotations

from django.urls import path

from tokens import views

app_name = "tokens"

urlpatterns = [
    path("", views.token_list, name="list"),
    path("new/", views.token_new, name="new"),
    path("create/", views.token_create, name="create"),
    path("<int:pk>/edit/", views.token_edit, name="edit"),
    path("<int:pk>/update/", views.token_update, name="update"),
    path("<int:pk>/status/", views.token_set_status, name="set_status"),
    path("<int:pk>/confirm-delete/", views.token_delete_confirm, name="delete_confirm"),
    path("<int:pk>/delete/", views.token_delete, name="delete"),
    path("admin-keys/", views.admin_key_list, name="admin_keys"),
    path("admin-keys/create/", views.admin_key_create, name="admin_key_create"),
    path(
        "admin-keys/<int:pk>/confirm-revoke/",
        views.admin_key_revoke_confirm,
        name="admin_key_revoke_confirm",
    ),
    path("admin-keys/<int:pk>/revoke/", views.admin_key_revoke, name="admin_key_revoke"),
]
