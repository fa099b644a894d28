"""What admins did: one row per action, never holding a secret."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ActorKind(models.TextChoices):
    USER = "user", _("Admin user")
    ADMIN_KEY = "admin_key", _("Admin API key")
    SYSTEM = "system", _("Gateway")


class AuditEvent(models.Model):
    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor_kind = models.CharField(_("actor kind"), max_length=20, choices=ActorKind.choices)
    # A label kept as it was then: the user or key may be renamed or deleted later.
    actor = models.CharField(_("actor"), max_length=150)
    ip = models.GenericIPAddressField(_("address"), null=True, blank=True)
    action = models.CharField(_("action"), max_length=40, db_index=True)
    object_type = models.CharField(_("object type"), max_length=40, db_index=True)
    object_id = models.CharField(_("object id"), max_length=40, blank=True, default="")
    object_repr = models.CharField(_("object"), max_length=200, blank=True, default="")
    # Changed fields as {"field": [old, new]}; a secret field is only ever "changed".
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    detail = models.CharField(_("detail"), max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.object_type}"
