"""The admin panel's pages (the JSON admin API lives in gateway.api_urls)."""

from __future__ import annotations

from django.urls import include, path
from django.views.i18n import set_language

from gateway import views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("i18n/", set_language, name="set_language"),
    path("channels/", include("channels_admin.urls")),
    path("tokens/", include("tokens.urls")),
    path("prices/", include("usage.urls")),
    path("logs/", include("usage.log_urls")),
    path("usage/", include("usage.dashboard_urls")),
    path("admin-keys/", include("tokens.admin_key_urls")),
    path("account/", include("accounts.urls")),
    path("audit/", include("audit.urls")),
]
