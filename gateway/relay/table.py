"""Loading the routing table from the database: every channel, its key decrypted once."""

from __future__ import annotations

import logging

from channels_admin.models import Channel, ChannelStatus
from core.crypto import decrypt_secret
from core.state import read_db_version
from gateway.relay.routing import ChannelRow, Route, RoutingTable, build_routing_table

log = logging.getLogger(__name__)


def load_routing_table() -> tuple[int, RoutingTable]:
    """The relay-state version and the table built from the channels as of that version."""
    # Version first: a change landing between the two reads only causes one extra reload.
    version = read_db_version()
    return version, build_routing_table(_channel_rows())


def _channel_rows() -> list[ChannelRow]:
    rows: list[ChannelRow] = []
    for channel in Channel.objects.all().order_by("id"):
        enabled = channel.status == ChannelStatus.ENABLED
        try:
            api_key = decrypt_secret(channel.key_encrypted) if enabled else ""
        except ValueError:
            log.error("channel %s (%s): key cannot be decrypted; skipped", channel.pk, channel.name)
            continue
        route = Route(
            channel_id=channel.pk,
            name=channel.name,
            base_url=channel.base_url,
            api_key=api_key,
            weight=channel.weight,
            priority=channel.priority,
            model_mapping=dict(channel.model_mapping or {}),
            connect_timeout=channel.connect_timeout,
            first_byte_timeout=channel.first_byte_timeout,
            stream_idle_timeout=channel.stream_idle_timeout,
            total_timeout=channel.total_timeout,
            cooldown_until=channel.cooldown_until.timestamp() if channel.cooldown_until else 0.0,
            disabled_models=frozenset(channel.disabled_models or ()),
        )
        rows.append(ChannelRow(route, enabled, tuple(channel.groups), tuple(channel.model_names)))
    return rows
