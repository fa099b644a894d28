"""A new admin's first session, in a real browser, ending with a real client call through /v1.

Log in → overview → add a channel for a fake upstream → test it → map a model name → create a
token and copy its key → the official `openai` SDK calls the gateway with that key and name.
Screenshots of every page land in test-artifacts/e2e/admin_flow/ (git-ignored).
"""

from __future__ import annotations

import re

import pytest
from openai import OpenAI
from playwright.sync_api import Locator, Page, expect

from tests.support.browser import Screenshots, main_nav, sign_in
from tests.support.fake_upstream import FakeUpstream

pytestmark = pytest.mark.browser

CHANNEL = "Fake upstream"
TOKEN = "e2e token"
ALIAS = "my-alias"
UPSTREAM_MODEL = "gpt-4o-mini"


def channel_row(page: Page) -> Locator:
    return page.locator("tr.ch-row").filter(has_text=CHANNEL)


def log_in(page: Page, shots: Screenshots) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    expect(page.get_by_role("heading", name="Log in to Tollgate")).to_be_visible()
    shots.take(page, "login")
    sign_in(page)


def check_overview(page: Page, gateway_url: str, shots: Screenshots) -> None:
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    expect(page.locator("#base-url")).to_have_value(gateway_url + "/v1")
    expect(page.locator('[data-status="enabled"]')).to_have_text("0")
    expect(page.locator('[data-tokens="active"]')).to_have_text("0")
    shots.take(page, "overview")


def add_channel(page: Page, upstream: FakeUpstream, shots: Screenshots) -> None:
    main_nav(page, "Channels").click()
    expect(page.get_by_role("heading", name="Channels", exact=True)).to_be_visible()
    expect(page.get_by_text("No channels yet.")).to_be_visible()
    shots.take(page, "channels-empty")

    page.locator(".page-head").get_by_role("link", name="Add channel").click()
    expect(page.get_by_role("heading", name="Add channel")).to_be_visible()
    # By role: the accessible name leaves out the label's aria-hidden "*" of required fields.
    page.get_by_role("textbox", name="Name", exact=True).fill(CHANNEL)
    page.get_by_label("API address").fill(upstream.v1)
    page.get_by_label("Keys, one per line").fill(upstream.api_key)
    # The tag-style model list: type a name, Enter makes it a tag (and does not submit).
    page.get_by_role("textbox", name="Models", exact=True).fill(UPSTREAM_MODEL)
    page.get_by_role("textbox", name="Models", exact=True).press("Enter")
    expect(page.locator(".ch-tag")).to_have_count(1)
    expect(page.locator(".ch-tag")).to_contain_text(UPSTREAM_MODEL)
    expect(page.get_by_role("button", name=f"Remove {UPSTREAM_MODEL}")).to_be_visible()

    # "Fetch models" asks the upstream with the address and key typed above.
    page.get_by_role("button", name="Fetch models").click()
    fetched = page.locator("#fetched-models")
    expect(fetched.locator(".is-added")).to_have_text(f"✓ {UPSTREAM_MODEL}")
    expect(fetched.get_by_label("text-embedding-3-small")).not_to_be_checked()
    shots.take(page, "channel-add")

    page.get_by_role("button", name="Add channel").click()
    expect(page).to_have_url(re.compile(r"/channels/$"))
    expect(page.locator(".messages")).to_contain_text(f"Added channel “{CHANNEL}”.")
    row = channel_row(page)
    expect(row).to_have_count(1)
    expect(row.locator(".ch-col-status .badge")).to_have_text("Enabled")
    expect(row.locator(".ch-groups")).to_have_text("default")
    expect(row.locator(".ch-col-models")).to_have_text(UPSTREAM_MODEL)
    expect(row.locator(".ch-response")).to_have_text("—")
    expect(row.locator(".ch-col-tested")).to_have_text("Never")
    expect(page.get_by_text(upstream.api_key)).to_have_count(0)
    shots.take(page, "channels-added")
    # The add answered with a redirect: reloading the list adds nothing.
    page.reload()
    expect(page).to_have_url(re.compile(r"/channels/$"))
    expect(channel_row(page)).to_have_count(1)


def run_row_test(page: Page, shots: Screenshots) -> None:
    row = channel_row(page)
    row.get_by_role("button", name="Test").click()
    # The row is swapped in place with the result and the recorded response time.
    expect(row.locator(".ch-response")).to_have_text(re.compile(r"^\s*\d+ ms\s*$"))
    # The outcome is kept on the channel: the Last test column says when and how it went.
    expect(row.locator(".ch-col-tested")).to_contain_text("just now")
    expect(row.locator(".ch-col-tested")).to_contain_text("✓ Passed")
    shots.take(page, "channels-tested")


def map_a_model(page: Page, upstream: FakeUpstream, shots: Screenshots) -> None:
    channel_row(page).get_by_role("link", name=CHANNEL).click()
    expect(page.get_by_role("heading", name=f"Edit channel “{CHANNEL}”")).to_be_visible()
    # The key is write-only: the page knows only its mask.
    mask = f"{upstream.api_key[:3]}…{upstream.api_key[-4:]}"
    expect(page.locator("#channel-keys").get_by_text(mask, exact=True)).to_be_visible()
    assert upstream.api_key not in page.content()
    expect(page.get_by_label("Add keys, one per line")).to_have_value("")

    page.locator(".ch-test-box").get_by_role("button", name="Test").click()
    expect(page.locator("#test-result")).to_have_text(
        re.compile(rf"✓ OK in \d+ ms \({UPSTREAM_MODEL}\)")
    )

    # The editor's buttons swap only the editor: a mark on this page's window must survive.
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_label("Requested model, row 1").fill(ALIAS)
    page.get_by_label("Upstream model, row 1").fill(UPSTREAM_MODEL)
    page.get_by_role("button", name="Add row").click()
    expect(page.get_by_label("Requested model, row 2")).to_have_value("")
    expect(page.get_by_label("Requested model, row 1")).to_have_value(ALIAS)
    expect(page.get_by_label("Upstream model, row 1")).to_have_value(UPSTREAM_MODEL)
    assert page.evaluate("window.stillTheSamePage") is True
    shots.take(page, "channel-edit-mapping")

    page.get_by_role("button", name="Save changes").click()
    expect(page).to_have_url(re.compile(r"/channels/$"))
    expect(page.locator(".messages")).to_contain_text(f"Saved channel “{CHANNEL}”.")
    # The row names the alias a client may now call.
    expect(channel_row(page).locator(".ch-alias")).to_have_text(ALIAS)
    shots.take(page, "channels-mapped")


def create_token(page: Page, gateway_url: str, shots: Screenshots) -> tuple[str, str]:
    """The key and base URL, read off the page the way a user copies them."""
    main_nav(page, "Tokens").click()
    expect(page.get_by_role("heading", name="Tokens", exact=True)).to_be_visible()
    expect(page.get_by_text("No tokens yet.")).to_be_visible()
    page.locator(".page-head").get_by_role("link", name="New token").click()

    expect(page.get_by_role("heading", name="New token")).to_be_visible()
    # By role: the accessible name leaves out the label's aria-hidden "*" of required fields.
    page.get_by_role("textbox", name="Name", exact=True).fill(TOKEN)
    # The models on offer are what the gateway serves: the channel's model and its alias.
    expect(page.locator(".checkbox-list .checkbox")).to_have_text([UPSTREAM_MODEL, ALIAS])
    page.get_by_label(ALIAS, exact=True).check()
    shots.take(page, "token-new")
    page.get_by_role("button", name="Create token").click()

    expect(page.get_by_role("heading", name=f"Token “{TOKEN}” created")).to_be_visible()
    expect(page.get_by_text("Copy this key now.")).to_be_visible()
    key_field = page.locator("#new-key")
    key = key_field.input_value()
    assert key.startswith("sk-") and len(key) > 20
    base_url = page.locator("#base-url").input_value()
    assert base_url == gateway_url + "/v1"
    expect(page.locator("#client-env")).to_have_value(
        f"OPENAI_BASE_URL={base_url}\nOPENAI_API_KEY={key}"
    )
    expect(page.locator("dl.details")).to_contain_text(ALIAS)
    page.locator('button[data-copy="new-key"]').click()
    expect(page.locator('button[data-copy="new-key"]')).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == key
    shots.take(page, "token-created")

    expect(
        page.get_by_role("link", name="I have copied the key — back to tokens")
    ).to_have_attribute("href", "/tokens/")

    # Reloading the key page (or pressing Continue on a resubmit prompt) makes no second
    # token: the page came from a redirect, and it shows its key once only.
    page.reload()
    expect(page).to_have_url(re.compile(r"/tokens/$"))
    expect(page.locator(".messages")).to_contain_text("cannot be shown again")
    row = page.locator("tr", has_text=TOKEN)
    expect(row).to_have_count(1)
    assert key not in page.content()
    for _attempt in ("after the reload of the key page", "after a reload of the list"):
        prefix = row.locator('td[data-label="Key"]')
        expect(prefix).to_have_text(re.compile(r"^sk-\S+…$"))
        assert key.startswith(prefix.inner_text().rstrip("…"))
        assert key not in page.content()
        page.reload()
    expect(row).to_have_count(1)
    shots.take(page, "tokens")
    return key, base_url


def check_overview_counts(page: Page, shots: Screenshots) -> None:
    main_nav(page, "Dashboard").click()
    expect(page.locator('[data-status="enabled"]')).to_have_text("1")
    expect(page.locator('[data-tokens="active"]')).to_have_text("1")
    shots.take(page, "overview-after")


def test_a_new_admin_sets_up_a_channel_and_a_token_that_a_client_uses(
    page: Page,
    gateway_url: str,
    upstream: FakeUpstream,
    screenshots: Screenshots,
) -> None:
    log_in(page, screenshots)
    check_overview(page, gateway_url, screenshots)
    add_channel(page, upstream, screenshots)
    run_row_test(page, screenshots)
    map_a_model(page, upstream, screenshots)
    key, base_url = create_token(page, gateway_url, screenshots)
    check_overview_counts(page, screenshots)

    with OpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=30) as client:
        reply = client.chat.completions.create(
            model=ALIAS, messages=[{"role": "user", "content": "Hello"}]
        )
    assert reply.choices[0].message.content == f"hello from {upstream.name}"

    chats = [r for r in upstream.requests if r.path == "/v1/chat/completions"]
    # Two built-in tests (row and edit page), then the client's call.
    assert len(chats) == 3
    assert chats[-1].json()["model"] == UPSTREAM_MODEL
    assert chats[-1].json()["messages"] == [{"role": "user", "content": "Hello"}]
    for recorded in upstream.requests:
        assert recorded.headers["authorization"] == f"Bearer {upstream.api_key}"
        assert key not in str(recorded.headers)
        assert key.encode() not in recorded.body
