"""core.listing: a list's q/o/p and filters, read once and turned into tidy links."""

from __future__ import annotations

import pytest
from django.http import QueryDict

from core.listing import Choice, ListState, Text, paginate, read_list_state

SORTS = ("name", "used")


def state_of(query: str, **options: object) -> ListState:
    return read_list_state(
        QueryDict(query),
        sorts=SORTS,
        default_order="-name",
        filters={"status": Choice({"on": "On", "off": "Off"}), "group": Text(max_length=10)},
        **options,  # type: ignore[arg-type]
    )


def test_it_reads_each_parameter() -> None:
    state = state_of("q=+alpha+&o=used&status=off&group=+vip+")
    assert (state.q, state.o, dict(state.filters)) == (
        "alpha",
        "used",
        {"status": "off", "group": "vip"},
    )
    assert state.active and state.searchable


@pytest.mark.parametrize(
    "query",
    ["o=created", "o=--name", "o=%00", "o=" + "-" * 1000, "status=paused", "status=%00"],
)
def test_unknown_values_are_ignored(query: str) -> None:
    state = state_of(query)
    assert state.o == "-name"
    assert state.filters["status"] == ""


@pytest.mark.parametrize("group", ["g" * 11, "v%00ip", "v%0Aip"])
def test_a_text_filter_too_long_or_with_control_characters_is_ignored(group: str) -> None:
    assert state_of(f"group={group}").filters["group"] == ""


@pytest.mark.parametrize("q", ["al%00pha", "a" * 201])
def test_a_search_nothing_could_match_is_kept_but_marked(q: str) -> None:
    state = state_of(f"q={q}")
    assert not state.searchable
    assert len(state.q) <= 200


def test_the_tidy_query_leaves_out_empty_values_and_the_default_order() -> None:
    assert state_of("q=&status=&group=&o=-name").query.urlencode() == ""
    assert state_of("group=vip&q=a&o=used&junk=1").query.urlencode() == "q=a&group=vip&o=used"


def test_sort_direction() -> None:
    state = state_of("o=-used")
    assert (state.sort_direction("used"), state.sort_direction("name")) == ("desc", "")
    assert state_of("o=used").sort_direction("used") == "asc"


def test_a_page_keeps_the_state_and_adds_its_number() -> None:
    state = state_of("q=a&o=used")
    listing = paginate(list(range(100)), state, "3", per_page=10, path="/x/", target="#t")
    assert listing.page.number == 3
    assert listing.url == "/x/?q=a&o=used&p=3"
    assert listing.page_numbers == [1, 2, 3, 4, 5, None, 10]
    first = paginate(list(range(100)), state, "1", per_page=10, path="/x/", target="#t")
    assert first.url == "/x/?q=a&o=used"


@pytest.mark.parametrize(("raw", "number"), [("abc", 1), ("-1", 10), ("99999999999999999999", 10)])
def test_an_odd_page_number_gives_the_first_or_the_last_page(raw: str, number: int) -> None:
    listing = paginate(list(range(100)), state_of(""), raw, per_page=10, path="/x/", target="#t")
    assert listing.page.number == number
