from __future__ import annotations

from django.db import models


class RelayState(models.Model):
    """One row whose version moves on every admin change the relay must see.

    Each gateway process polls it (or Redis, when REDIS_URL is set) at most every
    RELAY_REFRESH_SECONDS and reloads its in-process routing table and token cache.
    """

    version = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # The table was created by the gateway app before this model moved to core.
        db_table = "gateway_relaystate"

    def __str__(self) -> str:
        return f"relay state v{self.version}"


class SecretsCheck(models.Model):
    """What the first gateway to use this database knew of its secrets, never the secrets:
    a keyed hash made with SECRET_KEY and a value encrypted with TOLLGATE_ENCRYPTION_KEY. An
    instance started with other secrets (its own data directory made its own) would fail
    every token and channel key made elsewhere; core/secrets_check.py tells it at start."""

    secret_key_check = models.CharField(max_length=64)
    encryption_check = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"secrets check of {self.created_at:%Y-%m-%d}"
