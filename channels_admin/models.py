from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.crypto import decrypt_secret


class ChannelType(models.TextChoices):
    """The API a channel's upstream speaks; its base URL is what that provider's SDK takes."""

    OPENAI = "openai", _("OpenAI-compatible")
    ANTHROPIC = "anthropic", _("Anthropic")
    AZURE = "azure", _("Azure OpenAI")


class ChannelStatus(models.TextChoices):
    ENABLED = "enabled", _("Enabled")
    DISABLED = "disabled", _("Disabled")
    AUTO_DISABLED = "auto_disabled", _("Auto-disabled")


class KeyMode(models.TextChoices):
    """How a channel with many keys picks one for each request."""

    RANDOM = "random", _("At random")
    ROUND_ROBIN = "round_robin", _("In turn")


class KeyStatus(models.TextChoices):
    ENABLED = "enabled", _("Enabled")
    DISABLED = "disabled", _("Disabled")


def default_groups() -> list[str]:
    return ["default"]


class Channel(models.Model):
    name = models.CharField(_("name"), max_length=100)
    type = models.CharField(
        _("type"), max_length=20, choices=ChannelType.choices, default=ChannelType.OPENAI
    )
    base_url = models.CharField(_("API address"), max_length=500)
    # Azure OpenAI's `api-version` query parameter (blank for other types).
    api_version = models.CharField(_("API version"), max_length=40, blank=True, default="")
    # The keys are ChannelKey rows (channel.keys), the one place they are kept.
    key_mode = models.CharField(
        _("key mode"), max_length=20, choices=KeyMode.choices, default=KeyMode.RANDOM
    )
    # The index the next key added gets: indexes are never reused, so a relay acting on an
    # old routing table can never disable a key that took a removed one's place.
    next_key_index = models.PositiveIntegerField(default=0)
    model_names = models.JSONField(_("models"), default=list)
    groups = models.JSONField(_("groups"), default=default_groups)
    weight = models.PositiveIntegerField(_("weight"), default=1)
    priority = models.IntegerField(_("priority"), default=0)
    status = models.CharField(
        _("status"), max_length=20, choices=ChannelStatus.choices, default=ChannelStatus.ENABLED
    )
    status_reason = models.CharField(max_length=500, blank=True, default="")
    status_changed_at = models.DateTimeField(null=True, blank=True)
    model_mapping = models.JSONField(_("model mapping"), default=dict)
    test_model = models.CharField(_("test model"), max_length=200, blank=True, default="")
    last_test_at = models.DateTimeField(null=True, blank=True)
    # The last test's outcome: None until a test ran; a failure keeps its sanitised error, so
    # the list, the edit page and the overview can say so after any navigation.
    last_test_ok = models.BooleanField(null=True, blank=True)
    last_test_error = models.TextField(blank=True, default="")
    last_response_ms = models.PositiveIntegerField(null=True, blank=True)
    # Per-channel timeouts in seconds; null = the global TOLLGATE_*_TIMEOUT default.
    connect_timeout = models.FloatField(_("connect timeout"), null=True, blank=True)
    first_byte_timeout = models.FloatField(_("first byte timeout"), null=True, blank=True)
    stream_idle_timeout = models.FloatField(_("stream idle timeout"), null=True, blank=True)
    total_timeout = models.FloatField(_("total timeout"), null=True, blank=True)
    # A 429's cool-down, shared by every process: routing skips the channel until then.
    cooldown_until = models.DateTimeField(null=True, blank=True)
    # {model: reason}: models the upstream said it does not serve, taken off this channel only.
    disabled_models = models.JSONField(default=dict, blank=True)
    # The breaker's window when there is no Redis: failures counted since window_started_at.
    breaker_failures = models.PositiveIntegerField(default=0)
    breaker_window_started_at = models.DateTimeField(null=True, blank=True)
    # The prober's backoff for an auto-disabled channel.
    probe_failures = models.PositiveIntegerField(default=0)
    next_probe_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-priority", "id"]

    def __str__(self) -> str:
        return self.name

    def key_list(self) -> list[ChannelKey]:
        """Every key of the channel in index order, from the prefetch when there is one."""
        return sorted(self.keys.all(), key=lambda key: key.index)

    @property
    def api_key(self) -> str:
        """The first enabled key, decrypted (ValueError if it cannot be; "" with none): for
        scripts and tests. The relay reads every key through selectors.relay_keys."""
        ciphertext = self.key_encrypted
        return decrypt_secret(ciphertext) if ciphertext else ""

    @property
    def key_encrypted(self) -> str:
        """Deprecated, read-only: the first enabled key's ciphertext ("" when none is), for
        code written before channels held many keys. ChannelKey rows are the only store;
        new code reads channels_admin.selectors.relay_keys."""
        for key in self.key_list():
            if key.status == KeyStatus.ENABLED:
                return key.key_encrypted
        return ""

    @property
    def display_url(self) -> str:
        """The address without any `user:pass@`: channels saved before such addresses were
        refused may still hold one, and a password must not show in a list or answer."""
        parts = urlsplit(self.base_url)
        if "@" not in parts.netloc:
            return self.base_url
        return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))

    @property
    def aliases(self) -> list[tuple[str, str]]:
        """The mapping as (name a client may call, name sent upstream) pairs, for display."""
        return [(str(alias), str(upstream)) for alias, upstream in self.model_mapping.items()]

    @property
    def cooling_until(self) -> datetime | None:
        """The end of the channel's cool-down while one runs, else None."""
        until = self.cooldown_until
        return until if until is not None and until > timezone.now() else None

    @property
    def models_taken_off(self) -> list[tuple[str, str]]:
        """disabled_models as (model, reason) pairs, for display."""
        taken = self.disabled_models if isinstance(self.disabled_models, dict) else {}
        return [(str(model), str(reason)) for model, reason in taken.items()]

    @property
    def effective_test_model(self) -> str:
        return self.test_model or (self.model_names[0] if self.model_names else "")


# The most of a key's refusal reason kept and shown.
MAX_KEY_REASON = 300


class ChannelKey(models.Model):
    """One upstream key of a channel. A refused key is disabled alone, with its reason, while
    the channel's other keys keep serving."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="keys")
    # Stable and never reused within a channel (Channel.next_key_index hands them out).
    index = models.PositiveIntegerField()
    # Fernet ciphertext; the plaintext never touches the database.
    key_encrypted = models.TextField()
    key_mask = models.CharField(max_length=20, default="")
    status = models.CharField(max_length=20, choices=KeyStatus.choices, default=KeyStatus.ENABLED)
    reason = models.CharField(max_length=MAX_KEY_REASON, blank=True, default="")
    changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["channel_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "index"], name="channel_key_index")
        ]

    def __str__(self) -> str:
        return f"{self.channel_id}#{self.index} {self.key_mask}"

    @property
    def plaintext(self) -> str:
        """The key itself: for the relay and the channel test only, never for display."""
        return decrypt_secret(self.key_encrypted)


class ProberLock(models.Model):
    """The database lock that lets one prober run at a time when there is no Redis: a named
    row whose holder and expiry are taken by one conditional UPDATE."""

    name = models.CharField(max_length=50, primary_key=True)
    holder = models.CharField(max_length=100, default="")
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name


# Channel health over time, kept current by the usage writer (usage/aggregates.py) as it
# writes usage records: every attempt on a channel, failovers' failed tries included.
MAX_AGGREGATED_ERROR = 200


class ChannelHourly(models.Model):
    """Every attempt on a channel in an hour (failovers' failed tries included): its health."""

    hour = models.DateTimeField()
    channel_id = models.BigIntegerField()
    attempts = models.BigIntegerField(default=0)
    successes = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["hour", "channel_id"], name="channel_hourly_key")
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00} channel {self.channel_id}"


class LatencyKind(models.TextChoices):
    LATENCY = "latency", _("latency")  # each attempt's, start to end
    FIRST_BYTE = "first_byte", _("time to first byte")  # the answering channel's


class ChannelLatency(models.Model):
    """How many attempts in an hour fell in each latency bucket (usage/aggregates.py's
    bounds): merged over hours, the buckets give p50 and p95 without keeping every value."""

    hour = models.DateTimeField()
    channel_id = models.BigIntegerField()
    kind = models.CharField(max_length=16, choices=LatencyKind.choices)
    bucket = models.PositiveSmallIntegerField()
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "channel_id", "kind", "bucket"], name="channel_latency_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00} channel {self.channel_id} {self.kind}[{self.bucket}]"


class ChannelError(models.Model):
    """A channel's failed attempts in an hour, by status and (sanitised, shortened) error."""

    hour = models.DateTimeField()
    channel_id = models.BigIntegerField()
    status = models.PositiveSmallIntegerField(default=0)  # 0: no HTTP answer
    error = models.CharField(max_length=MAX_AGGREGATED_ERROR, default="", blank=True)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "channel_id", "status", "error"], name="channel_error_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00} channel {self.channel_id} {self.status}"
