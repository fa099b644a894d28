from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tokens.selectors import has_spending_limit, is_expired

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
    # Money in core.money units (a billionth of the currency). A limit of None: unlimited.
    # `*_reserved` holds what requests in flight may still cost (usage/quota.py reserves and
    # settles); a budget's `*_period` is the day (or the month's first day) its counters are
    # for: counters of an older period read as zero and restart at the next request.
    quota_limit = models.BigIntegerField(_("quota"), null=True, blank=True)
    quota_used = models.BigIntegerField(default=0)
    quota_reserved = models.BigIntegerField(default=0)
    daily_budget = models.BigIntegerField(_("daily budget"), null=True, blank=True)
    daily_used = models.BigIntegerField(default=0)
    daily_reserved = models.BigIntegerField(default=0)
    daily_period = models.DateField(null=True, blank=True)
    monthly_budget = models.BigIntegerField(_("monthly budget"), null=True, blank=True)
    monthly_used = models.BigIntegerField(default=0)
    monthly_reserved = models.BigIntegerField(default=0)
    monthly_period = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    @property
    def is_expired(self) -> bool:
        return is_expired(self.expires_at, timezone.now())

    @property
    def has_spending_limit(self) -> bool:
        """A quota or a budget: its requests are reserved and refused on unpriced models."""
        return has_spending_limit(self.quota_limit, self.daily_budget, self.monthly_budget)

    def daily_used_on(self, day: dt.date) -> int:
        return self.daily_used if self.daily_period == day else 0

    def monthly_used_in(self, month: dt.date) -> int:
        return self.monthly_used if self.monthly_period == month else 0


class AdminKey(HashedKey):
    """A key for the JSON admin API, stored the same way as tokens."""

    prefix = models.CharField(max_length=ADMIN_KEY_PREFIX_LENGTH, db_index=True)
