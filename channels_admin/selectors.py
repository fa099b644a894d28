"""Reads about channels that more than one place needs: one home for each rule.

Pages, the token form and the relay's routing table all ask "which model names can a client
call", "which groups exist" and "which name goes upstream"; they answer here so the rule cannot
drift between them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from channels_admin.models import Channel, ChannelKey, ChannelStatus, KeyStatus

log = logging.getLogger(__name__)


def relay_keys(channel: Channel) -> list[tuple[int, str]]:
    """(index, key) of the channel's enabled keys in index order, decrypted: what the relay
    sends upstream. Reads the prefetch (`prefetch_related("keys")`) when there is one.

    A key that cannot be decrypted (TOLLGATE_ENCRYPTION_KEY changed) is left out and logged
    by index; an empty list means the channel has no usable key.
    """
    keys: list[tuple[int, str]] = []
    for key in enabled_key_rows(channel):
        try:
            keys.append((key.index, key.plaintext))
        except ValueError:
            log.error("channel %s: key #%s cannot be decrypted; skipped", channel.pk, key.index)
    return keys


def enabled_key_rows(channel: Channel) -> list[ChannelKey]:
    """The channel's enabled keys in index order (masks for pages, ciphertext for the test)."""
    return [key for key in channel.key_list() if key.status == KeyStatus.ENABLED]


def models_served(model_names: Iterable[object], model_mapping: Mapping[Any, object]) -> list[str]:
    """The names a channel answers to: its models, then its mapping's aliases, each once.

    Pure, so the relay can call it on rows it has already loaded.
    """
    served = dict.fromkeys(
        name for name in [*(model_names or ()), *(model_mapping or {})] if isinstance(name, str)
    )
    return list(served)


def serves(channel: Channel, model: str) -> bool:
    return model in models_served(channel.model_names, channel.model_mapping)


def upstream_model(model_mapping: Mapping[str, str], requested: str) -> str:
    """The model name sent upstream for the one a client asked for (an alias or itself)."""
    return model_mapping.get(requested, requested)


def served_model_names(*, group: str | None = None) -> list[str]:
    """Every model name a client can ask for now: enabled channels' models and aliases.

    With `group`, only what that group's tokens reach. Sorted case-insensitively.
    """
    names: set[str] = set()
    rows = Channel.objects.filter(status=ChannelStatus.ENABLED).values_list(
        "model_names", "model_mapping", "groups"
    )
    for model_names, mapping, groups in rows:
        if group is not None and group not in (groups or ()):
            continue
        names.update(models_served(model_names, mapping))
    return sorted(names, key=_name_order)


def groups_in_use(*, with_default: bool = False) -> list[str]:
    """The groups any channel (enabled or not) belongs to, sorted case-insensitively.

    `with_default` adds "default", the group a new token gets, even when no channel has it.
    """
    groups: set[str] = {"default"} if with_default else set()
    for channel_groups in Channel.objects.values_list("groups", flat=True):
        groups.update(group for group in channel_groups or () if isinstance(group, str))
    return sorted(groups, key=_name_order)


def failed_last_test_count() -> int:
    """How many channels failed their last test (the overview says so)."""
    return Channel.objects.filter(last_test_ok=False).count()


def _name_order(name: str) -> tuple[str, str]:
    # Case-insensitive, with a fixed order between names that differ only in case.
    return (name.lower(), name)
