from __future__ import annotations

from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("security/", views.security, name="security"),
    path("security/setup/start/", views.setup_start, name="setup_start"),
    path("security/setup/", views.setup, name="setup"),
    path("security/setup/confirm/", views.setup_confirm, name="setup_confirm"),
    path("security/recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path("security/disable/", views.disable, name="disable"),
    path("verify/", views.verify, name="verify"),
]
