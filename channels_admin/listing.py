"""The channel list's search, filters, sorting and pages, read from the query string.

Django-admin style parameters: `q` (search), `status`, `group`, `type` (filters), `o` (order,
"-" for descending) and `p` (page). Every link the list makes keeps the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import F, OrderBy
from django.http import QueryDict
from django.utils.http import urlencode

from channels_admin.models import Channel, ChannelStatus, ChannelType

PAGE_SIZE = 20
# Sort key in the URL -> model field.
SORT_FIELDS = {
    "priority": "priority",
    "weight": "weight",
    "response": "last_response_ms",
    "tested": "last_test_at",
}


@dataclass(frozen=True)
class ChannelFilters:
    q: str = ""
    status: str = ""
    group: str = ""
    type: str = ""
    o: str = ""

    @classmethod
    def from_query(cls, query: QueryDict) -> ChannelFilters:
        status = query.get("status", "")
        type_ = query.get("type", "")
        order = query.get("o", "")
        return cls(
            q=query.get("q", "").strip()[:200],
            status=status if status in ChannelStatus.values else "",
            group=query.get("group", "").strip()[:100],
            type=type_ if type_ in ChannelType.values else "",
            o=order if order.lstrip("-") in SORT_FIELDS else "",
        )

    @property
    def active(self) -> bool:
        return bool(self.q or self.status or self.group or self.type)

    def params(self, **changes: Any) -> dict[str, str]:
        values = {**self.__dict__, **changes}
        return {key: str(value) for key, value in values.items() if value not in ("", None)}

    def url(self, **changes: Any) -> str:
        """This list's query string with `changes` applied (a page number included)."""
        params = self.params(**changes)
        return f"?{urlencode(params)}" if params else "?"

    def sort_link(self, key: str) -> dict[str, str]:
        """A column header's link: ascending first, then toggling; the page starts over."""
        if self.o == key:
            target, current = f"-{key}", "asc"
        elif self.o == f"-{key}":
            target, current = key, "desc"
        else:
            target, current = key, ""
        return {"url": self.url(o=target), "current": current}

    def ordering(self) -> list[OrderBy | str]:
        if not self.o:
            return list(Channel._meta.ordering)
        field = F(SORT_FIELDS[self.o.lstrip("-")])
        # Untested channels (no response time, no test time) sort last both ways.
        expression = (
            field.desc(nulls_last=True) if self.o.startswith("-") else field.asc(nulls_last=True)
        )
        return [expression, "id"]


def _matches(channel: Channel, needle: str) -> bool:
    haystack = [channel.name, channel.display_url, *channel.model_names, *channel.model_mapping]
    return any(needle in text.casefold() for text in haystack)


def find_channels(filters: ChannelFilters) -> list[Channel]:
    """The channels the filters select, in order.

    Search and the group filter run in Python: they look inside JSON lists, which SQLite and
    PostgreSQL query differently, and a gateway has hundreds of channels, not millions.
    """
    channels = Channel.objects.all()
    if filters.status:
        channels = channels.filter(status=filters.status)
    if filters.type:
        channels = channels.filter(type=filters.type)
    found = list(channels.order_by(*filters.ordering()))
    if filters.q:
        needle = filters.q.casefold()
        found = [channel for channel in found if _matches(channel, needle)]
    if filters.group:
        found = [channel for channel in found if filters.group in channel.groups]
    return found


def paginate(channels: list[Channel], page: str | None) -> Page:
    return Paginator(channels, PAGE_SIZE).get_page(page)


def all_groups() -> list[str]:
    groups: set[str] = set()
    for value in Channel.objects.values_list("groups", flat=True):
        groups.update(item for item in value if isinstance(item, str))
    return sorted(groups)
