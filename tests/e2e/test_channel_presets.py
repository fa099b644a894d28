"""Adding a channel from a provider preset, as a provider's guide has it: pick the provider,
paste the key, fetch models, save, test. The preset's address is then pointed at a fake
upstream (the real DeepSeek is not called). Screenshots land in
test-artifacts/e2e/channel_presets/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import Screenshots, main_nav, sign_in
from tests.support.fake_upstream import FakeUpstream

pytestmark = pytest.mark.browser

MODEL = "gpt-4o-mini"


def test_a_channel_is_added_from_the_deepseek_preset(
    page: Page, upstream: FakeUpstream, screenshots: Screenshots
) -> None:
    page.goto("/")
    sign_in(page)
    main_nav(page, "Channels").click()
    page.locator(".page-head").get_by_role("link", name="Add channel").click()
    expect(page.get_by_role("heading", name="Add channel")).to_be_visible()
    # With the script, the "Fill in" button of the no-JavaScript path is not needed.
    expect(page.get_by_role("button", name="Fill in")).to_be_hidden()
    # Azure's API version box shows only for Azure.
    expect(page.get_by_label("API version")).to_be_hidden()

    page.get_by_label("Provider").select_option(label="DeepSeek")
    address = page.get_by_label("API address")
    expect(address).to_have_value("https://api.deepseek.com/v1")
    expect(page.get_by_label("Type")).to_have_value("openai")
    expect(page.get_by_role("textbox", name="Name", exact=True)).to_have_value("DeepSeek")
    screenshots.take(page, "preset-filled")

    # Another preset: Azure fills its type and API version and shows the box.
    page.get_by_label("Provider").select_option(label="Azure OpenAI")
    expect(page.get_by_label("Type")).to_have_value("azure")
    expect(page.get_by_label("API version")).to_have_value("2024-10-21")
    expect(address).to_have_attribute("placeholder", "https://<resource>.openai.azure.com")
    page.get_by_label("Provider").select_option(label="DeepSeek")
    expect(page.get_by_label("API version")).to_be_hidden()
    expect(page.get_by_label("API version")).to_have_value("")

    # The guide's address, pointed at the fake upstream for the test; then the key.
    address.fill(upstream.v1)
    page.get_by_label("Keys, one per line").fill(upstream.api_key)
    page.get_by_role("button", name="Fetch models").click()
    fetched = page.locator("#fetched-models")
    expect(fetched.get_by_label(MODEL)).to_be_visible()
    fetched.get_by_label(MODEL).check()
    screenshots.take(page, "models-fetched")

    page.get_by_role("button", name="Add channel").click()
    expect(page).to_have_url(re.compile(r"/channels/$"))
    expect(page.locator(".messages")).to_contain_text("Added channel “DeepSeek”.")
    row = page.locator("tr.ch-row").filter(has_text="DeepSeek")
    expect(row.locator(".ch-col-models")).to_have_text(MODEL)

    row.get_by_role("link", name="DeepSeek").click()
    expect(page.get_by_role("heading", name="Edit channel “DeepSeek”")).to_be_visible()
    mask = f"{upstream.api_key[:3]}…{upstream.api_key[-4:]}"
    expect(page.locator("#channel-keys").get_by_text(mask, exact=True)).to_be_visible()
    page.locator(".ch-test-box").get_by_role("button", name="Test").click()
    expect(page.locator("#test-result")).to_have_text(re.compile(rf"✓ OK in \d+ ms \({MODEL}\)"))
    screenshots.take(page, "tested")
    assert upstream.api_key not in page.content()
    assert [r.path for r in upstream.requests] == ["/v1/models", "/v1/chat/completions"]
