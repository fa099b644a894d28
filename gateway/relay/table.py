"""Loading the routing table from the database: every channel, its key decrypted once."""

from __future__ import annotations

import logging

from channels_admin.models import Channel, ChannelStatus
from channels_admin.selectors import relay_keys
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
    for channel in Channel.objects.prefetch_related("keys").order_by("id"):
        enabled = channel.status == ChannelStatus.ENABLED
        keys = relay_keys(channel) if enabled else []
        if enabled and not keys:
            log.error("channel %s (%s): no usable key; skipped", channel.pk, channel.name)
            continue
        first_index, first_key = keys[0] if keys else (0, "")
        route = Route(
            channel_id=channel.pk,
            name=channel.name,
            base_url=channel.base_url,
            api_key=first_key,
            weight=channel.weight,
            priority=channel.priority,
            model_mapping=dict(channel.model_mapping or {}),
            connect_timeout=channel.connect_timeout,
            first_byte_timeout=channel.first_byte_timeout,
            stream_idle_timeout=channel.stream_idle_timeout,
            total_timeout=channel.total_timeout,
            cooldown_until=channel.cooldown_until.timestamp() if channel.cooldown_until else 0.0,
            disabled_models=frozenset(channel.disabled_models or ()),
            kind=channel.type,
            api_version=channel.api_version,
            keys=tuple(keys),
            key_mode=channel.key_mode,
            key_index=first_index,
        )
        rows.append(ChannelRow(route, enabled, tuple(channel.groups), tuple(channel.model_names)))
    return rows
