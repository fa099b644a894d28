"""The channel list in a 1024 px window, and "Test all" to its end, in a real browser.

Layout is what a view test cannot see: whether the row actions fit, whether an error beside
the weight widens its column, whether the address and the largest weight are readable.
Screenshots land in test-artifacts/e2e/channel_list_layout/ (git-ignored).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from channels_admin.models import Channel, ChannelStatus
from tests.support.browser import Screenshots, sign_in
from tests.support.factories import make_channel
from tests.support.fake_upstream import FakeUpstream

pytestmark = pytest.mark.browser

WIDTH = 1024
ADDRESS = "https://api.example.net/v1"
LONG_ADDRESS = "https://gateway.eu-west-1.example-provider.net/openai/deployments/gpt-4o/v1"
WRONG_KEY = "sk-not-the-key-of-the-fake-upstream-0000"


@pytest.fixture
def crowded(transactional_db: None) -> None:
    """Rows with everything a row can hold at its widest."""
    first = make_channel(
        name="OpenAI production (primary)",
        base_url=ADDRESS,
        key="sk-layout-test-key-000000000001",
        models=["gpt-4o-mini", "gpt-4o", "o1", "o3-mini", "gpt-4.1"],
        groups=["default", "vip", "batch"],
        weight=2147483647,
        priority=-2147483647,
        model_mapping={"fast": "gpt-4o-mini", "smart": "gpt-4o", "cheap": "gpt-4o-mini"},
    )
    Channel.objects.filter(pk=first.pk).update(
        last_test_at=timezone.now(),
        last_test_ok=False,
        last_test_error="Incorrect API key provided: sk-lay***0001. You can find your API key "
        "at https://platform.example.com/account/api-keys.",
    )
    second = make_channel(
        name="Azure EU",
        base_url=LONG_ADDRESS,
        key="sk-layout-test-key-000000000002",
        models=["gpt-4o"],
        status=ChannelStatus.DISABLED,
    )
    Channel.objects.filter(pk=second.pk).update(
        status=ChannelStatus.AUTO_DISABLED, status_reason="HTTP 401 from the upstream"
    )


def log_in(page: Page) -> None:
    page.goto("/login/")
    sign_in(page)
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()


def action(row: Locator, name: str) -> Locator:
    """A row's action button (or the Delete link), by its text: a regex alternation allowed."""
    found = row.locator(".row-actions .button", has_text=re.compile(f"^({name})$"))
    expect(found).to_have_count(1)
    return found


def box(locator: Locator) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None
    return found


def right_edge(locator: Locator) -> float:
    found = box(locator)
    return found["x"] + found["width"]


def overflows(locator: Locator) -> Any:
    """True when the element's content is wider or taller than what it shows."""
    return locator.evaluate(
        "e => e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1"
    )


def test_the_channel_list_fits_a_1024_px_window(
    crowded: None, page: Page, screenshots: Screenshots
) -> None:
    page.set_viewport_size({"width": WIDTH, "height": 800})
    log_in(page)
    page.goto("/channels/")
    rows = page.locator("tr.ch-row")
    expect(rows).to_have_count(2)
    shots = screenshots
    shots.take(page, "list-1024")

    # Nothing scrolls sideways, and every action of every row is inside the window.
    assert not page.locator(".ch-table-wrap .table-wrap").evaluate(
        "e => e.scrollWidth > e.clientWidth"
    )
    for row in rows.all():
        for name in ("Test", "Enable|Disable", "Copy", "Delete"):
            assert right_edge(action(row, name)) <= WIDTH

    # The address is shown whole when there is room, not cut to "http…".
    first = rows.filter(has_text="OpenAI production")
    address = first.locator(".ch-url")
    expect(address).to_have_text(ADDRESS)
    assert not overflows(address)
    # The aliases a client may call are in the row.
    expect(first.locator(".ch-alias")).to_have_text(["fast", "smart", "cheap"])
    # The failed last test stays visible.
    expect(first.locator(".ch-col-tested")).to_contain_text("✗ Failed: Incorrect API key")

    # The largest weight and the lowest priority fit their boxes.
    for name in ("weight", "priority"):
        assert not overflows(first.locator(f'input[name="{name}"]'))

    # An error beside the weight wraps inside its column instead of widening it.
    weight_header = page.locator("th", has_text="Weight")
    before = box(weight_header)["width"]
    weight = first.locator('input[name="weight"]')
    # The browser itself refuses a weight past max="2147483647"; the server's message, which a
    # browser without that check gets, is what must not widen the column. The number typed is
    # as wide as the one before, so only the message could change the width.
    weight.evaluate("input => { input.form.noValidate = true; }")
    weight.fill("2147483648")
    weight.press("Enter")
    expect(first.locator(".ch-col-weight .field-errors")).to_have_text(
        "Must be at most 2147483647."
    )
    shots.take(page, "list-1024-weight-error")
    # The table may shift a few pixels as the Save button shows; a message laid beside the
    # box instead of wrapped under it would widen the column by its whole length (140 px).
    assert abs(box(weight_header)["width"] - before) <= 8
    for name in ("Disable", "Delete"):
        assert right_edge(action(first, name)) <= WIDTH


@pytest.fixture
def two_to_test(transactional_db: None, upstream: FakeUpstream) -> None:
    make_channel(upstream, name="Good", models=["gpt-4o-mini"])
    make_channel(upstream, name="Bad key", key=WRONG_KEY, models=["gpt-4o-mini"])


def test_test_all_sums_up_and_ends(two_to_test: None, page: Page, screenshots: Screenshots) -> None:
    page.set_viewport_size({"width": WIDTH, "height": 800})
    log_in(page)
    page.goto("/channels/")

    expect(page.get_by_label("Test the upstreams of")).to_have_value("enabled")
    page.get_by_role("button", name="Test all").click()

    summary = page.locator(".ch-test-run-summary")
    expect(summary).to_have_text("2 tested: 1 passed, 1 failed. Done.")
    expect(page.locator(".ch-test-run-item.is-ok")).to_have_count(1)
    expect(page.locator(".ch-test-run-item.is-failed")).to_have_count(1)
    # The rows updated too, and keep the outcome after a reload.
    bad_row = page.locator("tr.ch-row").filter(has_text="Bad key")
    expect(bad_row.locator(".ch-col-tested")).to_contain_text("✗ Failed")
    screenshots.take(page, "test-all-done")
    page.reload()
    expect(bad_row.locator(".ch-col-tested")).to_contain_text("✗ Failed")
    expect(page.locator("tr.ch-row").filter(has_text="Good")).to_contain_text("✓ Passed")
