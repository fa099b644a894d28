"""A list page's state in its query string, as in Django admin's changelist.

`q` (search), `o` (order: a sort key, "-" for descending) and `p` (page), plus the list's
own named filters (`status`, `group`, ...). Every value is read and checked here, once: an
unknown sort key or filter value is ignored, never an error. Templates build their links with
Django's `{% querystring listing.query ... %}` from the clean values, so paging keeps the
filters, sorting starts over at page 1, and an odd parameter never travels on.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from django.core.paginator import Page, Paginator
from django.db.models import F, OrderBy, QuerySet
from django.http import HttpRequest, QueryDict
from django.urls import reverse

T = TypeVar("T")
# Longer than any name, address or model a list could match; a longer search matches nothing.
MAX_QUERY = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Choice:
    """A filter whose value is one of `values` (the keys, if a mapping of labels)."""

    values: Collection[str]

    def clean(self, raw: str) -> str:
        return raw if raw in self.values else ""


@dataclass(frozen=True, slots=True)
class Text:
    """A free-text filter (a group name, say); too long or with control characters: ignored."""

    max_length: int = 100

    def clean(self, raw: str) -> str:
        value = raw.strip()
        if len(value) > self.max_length or _CONTROL.search(value):
            return ""
        return value


Filter = Choice | Text


@dataclass(frozen=True, slots=True)
class ListState:
    """What a list shows: the search, the named filters' clean values ("" = not set), the order."""

    q: str = ""
    o: str = ""
    filters: Mapping[str, str] = field(default_factory=dict)
    default_order: str = ""
    # False when `q` holds something nothing stored can contain (a NUL, or past MAX_QUERY):
    # the list then shows no match, rather than ignoring the search.
    searchable: bool = True

    @property
    def active(self) -> bool:
        """A search or a filter narrows the list (the order does not)."""
        return bool(self.q or any(self.filters.values()))

    @property
    def values(self) -> dict[str, str]:
        """Each parameter's current value, for the filter form: `listing.values.status`."""
        return {"q": self.q, **self.filters, "o": self.o}

    @property
    def query(self) -> QueryDict:
        """The tidy query string of this state, without the page: empty values and the
        default order left out. `{% querystring listing.query p=2 %}` builds a link."""
        query = QueryDict(mutable=True)
        if self.q:
            query["q"] = self.q
        for name, value in self.filters.items():
            if value:
                query[name] = value
        if self.o and self.o != self.default_order:
            query["o"] = self.o
        return query

    def sort_direction(self, key: str) -> str:
        """ "asc", "desc" or "" for a column's sort key."""
        if self.o == key:
            return "asc"
        if self.o == f"-{key}":
            return "desc"
        return ""

    def ordering(self, fields: Mapping[str, str], *, tiebreak: str = "id") -> list[OrderBy | str]:
        """`order_by` arguments for `o`, given each sort key's model field. Empty values (never
        used, never tested) sort last both ways; `tiebreak` keeps pages stable."""
        if not self.o:
            return []
        descending = self.o.startswith("-")
        column = F(fields[self.o.lstrip("-")])
        expression = column.desc(nulls_last=True) if descending else column.asc(nulls_last=True)
        return [expression, f"-{tiebreak}" if descending else tiebreak]


def read_list_state(
    params: QueryDict,
    *,
    sorts: Collection[str] = (),
    default_order: str = "",
    filters: Mapping[str, Filter] | None = None,
) -> ListState:
    """The list state in `params`. `sorts`: the accepted sort keys (each also with "-")."""
    raw_q = params.get("q", "").strip()
    searchable = len(raw_q) <= MAX_QUERY and not _CONTROL.search(raw_q)
    order = params.get("o", "")
    if order.removeprefix("-") not in sorts:
        order = default_order
    return ListState(
        q=raw_q[:MAX_QUERY],
        o=order,
        filters={name: spec.clean(params.get(name, "")) for name, spec in (filters or {}).items()},
        default_order=default_order,
        searchable=searchable,
    )


@dataclass(frozen=True, slots=True)
class ListPage(Generic[T]):
    """One page of a list, with its state: what list templates and partials receive as
    `listing`. `path` is the list's URL, `target` the CSS selector of the fragment that
    htmx swaps (the table's wrapper, e.g. "#token-table")."""

    state: ListState
    page: Page[T]
    path: str
    target: str
    # Page numbers to link, None for a gap: 1 … 4 5 [6] 7 8 … 20.
    page_numbers: Sequence[int | None] = ()

    @property
    def query(self) -> QueryDict:
        """This page's tidy query string (the page number left out on page 1)."""
        query = self.state.query
        if self.page.number > 1:
            query["p"] = str(self.page.number)
        return query

    @property
    def url(self) -> str:
        """The tidy address of what is shown, for `HX-Push-Url` and "back" links."""
        query = self.query.urlencode()
        return f"{self.path}?{query}" if query else self.path

    # Short names for templates: `listing.q`, `listing.values.status`, `listing.active`.
    @property
    def q(self) -> str:
        return self.state.q

    @property
    def o(self) -> str:
        return self.state.o

    @property
    def values(self) -> dict[str, str]:
        return self.state.values

    @property
    def active(self) -> bool:
        return self.state.active


def paginate(
    items: Sequence[T] | QuerySet[Any],
    state: ListState,
    page: str | None,
    *,
    per_page: int,
    path: str,
    target: str,
) -> ListPage[T]:
    """The page `page` of `items` (a queryset or a list); a bad number gives the first page,
    one past the end the last, as Paginator.get_page does."""
    found = Paginator(items, per_page).get_page(page)
    numbers = [
        number if isinstance(number, int) else None
        for number in found.paginator.get_elided_page_range(found.number, on_each_side=2, on_ends=1)
    ]
    return ListPage(state=state, page=found, path=path, target=target, page_numbers=numbers)


@dataclass(frozen=True, slots=True)
class ListSpec:
    """Where a list lives: its URL's name, the CSS selector of the fragment htmx swaps (the
    table's wrapper, e.g. "#token-table") and how many rows a page shows."""

    url_name: str
    target: str
    per_page: int

    def paginate(
        self, request: HttpRequest, items: Sequence[T] | QuerySet[Any], state: ListState
    ) -> ListPage[T]:
        """The page of `items` the request asks for (`p`), as `paginate` picks it."""
        return paginate(
            items,
            state,
            request.GET.get("p"),
            per_page=self.per_page,
            path=reverse(self.url_name),
            target=self.target,
        )
