"""One row per request the relay answered after accepting its token (the API contract's record)."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tokens.models import Token

MAX_ENDPOINT = 200
MAX_MODEL = 256
MAX_ERROR = 500


class UsageRecord(models.Model):
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    request_id = models.CharField(_("request id"), max_length=128)
    # No database constraint: a record keeps its token's id after the token is deleted (the
    # usage happened and stays counted), and a batch never fails over a token deleted a moment
    # before it was written. No index of its own: usage_token_time starts with the token, and
    # a lookup by token alone uses it on SQLite and PostgreSQL alike (one index less to write
    # per record). Deleting a token touches no record (DO_NOTHING, no constraint to check).
    token = models.ForeignKey(
        Token,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
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
    cost = models.BigIntegerField(_("cost"), default=0)  # core.money units
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
            models.Index(fields=["request_id"], name="usage_request_id"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.endpoint} {self.status}"


class ModelPrice(models.Model):
    """What a model costs, by the name clients ask for (before any channel's mapping).

    Money in core.money units: per million prompt (input) and completion (output) tokens,
    and per request.
    """

    model = models.CharField(_("model"), max_length=MAX_MODEL, unique=True)
    input_per_million = models.BigIntegerField(_("input per million tokens"), default=0)
    output_per_million = models.BigIntegerField(_("output per million tokens"), default=0)
    per_request = models.BigIntegerField(_("per request"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model"]

    def __str__(self) -> str:
        return self.model


MULTIPLIER_DIGITS = 12
MULTIPLIER_PLACES = 6


class GroupMultiplier(models.Model):
    """A group's price multiplier (every part of a price); a group without one pays the price."""

    name = models.CharField(_("group"), max_length=64, unique=True)
    price_multiplier = models.DecimalField(
        _("price multiplier"),
        max_digits=MULTIPLIER_DIGITS,
        decimal_places=MULTIPLIER_PLACES,
        default=Decimal(1),
        validators=[MinValueValidator(Decimal(0))],
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# Aggregates kept up to date as records are written (usage/aggregates.py, in the same
# transaction), so the dashboard never scans raw records and they outlive the records'
# retention. "None" is 0 (a token or channel id) or "" (a model, a group) in their keys: a
# unique key treats NULLs as all different, and an upsert must find its row.
class UsageTotals(models.Model):
    requests = models.BigIntegerField(default=0)
    successes = models.BigIntegerField(default=0)  # 2xx
    client_errors = models.BigIntegerField(default=0)  # 4xx but 499: refused or bad requests
    upstream_errors = models.BigIntegerField(default=0)  # 5xx: no upstream answered usably
    client_closed = models.BigIntegerField(default=0)  # 499
    prompt_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    cost = models.BigIntegerField(default=0)  # core.money units
    latency_ms = models.BigIntegerField(default=0)  # a sum: / requests for the mean
    first_byte_ms = models.BigIntegerField(default=0)  # a sum over first_byte_count requests
    first_byte_count = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


KEY_FIELDS = ("token_id", "group", "model", "channel_id")


class UsageHourly(UsageTotals):
    hour = models.DateTimeField()  # the UTC hour's start
    token_id = models.BigIntegerField(default=0)
    group = models.CharField(max_length=64, default="", blank=True)
    model = models.CharField(max_length=MAX_MODEL, default="", blank=True)  # as requested
    channel_id = models.BigIntegerField(default=0)  # the channel that answered

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["hour", *KEY_FIELDS], name="usage_hourly_key")
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00} {self.model} {self.requests}"


class UsageDaily(UsageTotals):
    day = models.DateField()  # in TOLLGATE_TIME_ZONE
    token_id = models.BigIntegerField(default=0)
    group = models.CharField(max_length=64, default="", blank=True)
    model = models.CharField(max_length=MAX_MODEL, default="", blank=True)
    channel_id = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", *KEY_FIELDS], name="usage_daily_key")]

    def __str__(self) -> str:
        return f"{self.day} {self.model} {self.requests}"
