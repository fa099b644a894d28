from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tokens.selectors import is_expired

TOKEN_KEY_PREFIX = "sk-"
ADMIN_KEY_PREFIX = "tga-"
# "sk-" + 8 characters: enough to find the row, shown in lists so users can tell keys apart.
TOKEN_PREFIX_LENGTH = 11
ADMIN_KEY_PREFIX_LENGTH = 13


class TokenStatus(models.TextChoices):
    ENABLED = "enabled", _("Enabled")
    DISABLED = "disabled", _("Disabled")


class HashedKey(models.Model):
    """A secret kept only as its keyed hash, found by a short prefix that is safe to show."""

    prefix: str  # a field of each concrete model: its length differs

    name = models.CharField(_("name"), max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def display_prefix(self) -> str:
        return f"{self.prefix}…"

    @property
    def name_and_prefix(self) -> str:
        """How the audit log names a key (as the object, or as the actor): "ci (tga-Ab12Cd34e…)"."""
        return f"{self.name} ({self.display_prefix})"


class Token(HashedKey):
    """A downstream key. Only its keyed hash is stored; the key is shown once at creation."""

    group = models.CharField(_("group"), max_length=64, default="default")
    status = models.CharField(
        _("status"), max_length=20, choices=TokenStatus.choices, default=TokenStatus.ENABLED
    )
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    allowed_models = models.JSONField(_("allowed models"), default=list, blank=True)
    allowed_ips = models.JSONField(_("allowed IPs"), default=list, blank=True)
    prefix = models.CharField(max_length=TOKEN_PREFIX_LENGTH, db_index=True)
    # Requests and tokens per minute; None: no limit (gateway/relay/rate_limits.py enforces).
    rpm_limit = models.PositiveIntegerField(_("requests per minute"), null=True, blank=True)
    tpm_limit = models.PositiveIntegerField(_("tokens per minute"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    @property
    def is_expired(self) -> bool:
        return is_expired(self.expires_at, timezone.now())


class AdminKey(HashedKey):
    """A key for the JSON admin API, stored the same way as tokens."""

    prefix = models.CharField(max_length=ADMIN_KEY_PREFIX_LENGTH, db_index=True)
