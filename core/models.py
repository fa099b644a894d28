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
