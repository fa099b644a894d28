from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared low-level pieces every app may use; core itself imports no app of ours."""

    name = "core"
    verbose_name = "Tollgate core"
    default_auto_field = "django.db.models.BigAutoField"
