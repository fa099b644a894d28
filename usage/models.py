"""One row per request the relay answered after accepting its token (the API contract's record)."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tokens.models import Token

# Money as an exact decimal: 20 digits, 10 after the point (room for tiny per-token prices).
COST_DIGITS = 20
COST_PLACES = 10
MAX_ENDPOINT = 200
MAX_MODEL = 256
MAX_ERROR = 500


class UsageRecord(models.Model):
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    request_id = models.CharField(_("request id"), max_length=128)
    # No database constraint: a record keeps its token's id after the token is deleted (the
    # usage happened and stays counted), and a batch never fails over a token deleted a moment
    # before it was written.
    token = models.ForeignKey(
        Token,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    client_ip = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    endpoint = models.CharField(_("endpoint"), max_length=MAX_ENDPOINT)
    requested_model = models.CharField(_("requested model"), max_length=MAX_MODEL, blank=True)
    upstream_model = models.CharField(_("upstream model"), max_length=MAX_MODEL, blank=True)
    # The channel that answered; a plain id (not a key): records outlive deleted channels.
    channel_id = models.BigIntegerField(_("channel"), null=True, blank=True)
    # Each channel tried: [{"channel_id", "status", "error", "latency_ms"}], in order.
    attempts = models.JSONField(_("attempts"), default=list, blank=True)
    status = models.PositiveSmallIntegerField(_("status"))
    error = models.CharField(_("error"), max_length=MAX_ERROR, blank=True, default="")
    stream = models.BooleanField(_("streamed"), default=False)
    prompt_tokens = models.PositiveIntegerField(_("prompt tokens"), default=0)
    completion_tokens = models.PositiveIntegerField(_("completion tokens"), default=0)
    total_tokens = models.PositiveIntegerField(_("total tokens"), default=0)
    estimated = models.BooleanField(_("estimated"), default=False)
    unpriced = models.BooleanField(_("unpriced"), default=True)
    cost = models.DecimalField(
        _("cost"), max_digits=COST_DIGITS, decimal_places=COST_PLACES, default=Decimal(0)
    )
    latency_ms = models.PositiveIntegerField(_("latency (ms)"), default=0)
    first_byte_ms = models.PositiveIntegerField(_("time to first byte (ms)"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="usage_newest"),
            models.Index(fields=["token", "-created_at"], name="usage_token_time"),
            models.Index(fields=["requested_model", "-created_at"], name="usage_model_time"),
            models.Index(fields=["channel_id", "-created_at"], name="usage_channel_time"),
            models.Index(fields=["status", "-created_at"], name="usage_status_time"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.endpoint} {self.status}"
