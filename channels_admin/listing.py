"""The channel list's search, filters and order, on the shared list state (core.listing).

Django-admin style parameters: `q` (search), `status`, `group`, `type`, `tested` (filters), `o`
(order, "-" for descending) and `p` (page); core.listing reads and checks them, the templates
build every link from the clean state with `{% querystring %}`.
"""

from __future__ import annotations

from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from channels_admin.models import Channel, ChannelStatus, ChannelType
from channels_admin.selectors import models_served
from core.listing import Choice, ListState, Text, read_list_state

PAGE_SIZE = 20
# Sort key in the URL -> model field.
SORTS = {
    "priority": "priority",
    "weight": "weight",
    "response": "last_response_ms",
    "tested": "last_test_at",
}
# The `tested` filter: how the last test went.
TESTED_FILTERS = {
    "passed": _("Passed"),
    "failed": _("Failed"),
    "never": _("Never tested"),
}


def read_channel_list_state(params: QueryDict) -> ListState:
    return read_list_state(
        params,
        sorts=SORTS,
        filters={
            "status": Choice(ChannelStatus.values),
            "group": Text(max_length=100),
            "type": Choice(ChannelType.values),
            "tested": Choice(TESTED_FILTERS),
        },
    )


def _matches(channel: Channel, needle: str) -> bool:
    haystack = [
        channel.name,
        channel.display_url,
        *models_served(channel.model_names, channel.model_mapping),
    ]
    return any(needle in text.casefold() for text in haystack)


def find_channels(state: ListState) -> list[Channel]:
    """The channels the list state selects, in order.

    Search and the group filter run in Python: they look inside JSON lists, which SQLite and
    PostgreSQL query differently, and a gateway has hundreds of channels, not millions.
    """
    if not state.searchable:
        return []
    channels = Channel.objects.all()
    filters = state.filters
    if filters["status"]:
        channels = channels.filter(status=filters["status"])
    if filters["type"]:
        channels = channels.filter(type=filters["type"])
    if filters["tested"] == "passed":
        channels = channels.filter(last_test_ok=True)
    elif filters["tested"] == "failed":
        channels = channels.filter(last_test_ok=False)
    elif filters["tested"] == "never":
        channels = channels.filter(last_test_at__isnull=True)
    ordering = state.ordering(SORTS)
    found = list(channels.order_by(*ordering) if ordering else channels)
    if state.q:
        needle = state.q.casefold()
        found = [channel for channel in found if _matches(channel, needle)]
    if filters["group"]:
        found = [channel for channel in found if filters["group"] in channel.groups]
    return found
