"""What every team used, in a real browser, in English and in Chinese.

Traffic goes through /v1 with the official `openai` SDK first (two tokens, a failover and a
request no channel can answer), then: log in → the dashboard shows it → the logs filtered to
one token → the failed request's attempt chain → the CSV download of the filtered logs.
Screenshots land in test-artifacts/e2e/usage_walk/ (git-ignored).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

import openai
import pytest
from playwright.sync_api import Page, expect

from gateway.relay.recording import usage_writer
from tests.support.browser import Screenshots, sign_in
from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream, running_upstream
from tests.support.live_gateway import Gateway, serving_gateway
from tests.support.usage_records import FAST, wait_for_records

pytestmark = pytest.mark.browser

HEADINGS = {
    "en": {"dashboard": "Dashboard", "logs": "Usage logs", "nav_logs": "Logs"},
    "zh-hans": {"dashboard": "数据看板", "logs": "使用日志", "nav_logs": "使用日志"},
}


@dataclass
class Traffic:
    team_a: int  # token ids
    team_b: int


@pytest.fixture
def live(transactional_db: None) -> Iterator[Gateway]:
    with serving_gateway(usage=usage_writer(**FAST)) as gateway:
        yield gateway


@pytest.fixture
def gateway_url(live: Gateway) -> str:
    """The browser's gateway (e2e/conftest.py's `page` uses it): usage written every 50 ms."""
    return live.url


@pytest.fixture
def traffic(live: Gateway, upstream: FakeUpstream) -> Iterator[Traffic]:
    """Requests sent before the browser starts (the ORM is off limits once it runs)."""
    with running_upstream(name="broken", fail_with=(500, {"error": {"message": "boom"}})) as bad:
        make_channel(upstream, name="Good")
        make_channel(bad, name="Broken", models=["gpt-4o-mini", "only-broken"], priority=5)
        team_a, team_b = make_token(name="Team A"), make_token(name="Team B")
        a = live.client(team_a.key)
        for _ in range(3):  # each one: Broken fails, Good answers
            a.chat.completions.create(model="gpt-4o-mini", messages=[])
        with pytest.raises(openai.APIStatusError):
            a.chat.completions.create(model="only-broken", messages=[])
        live.client(team_b.key).chat.completions.create(model="gpt-4o-mini", messages=[])
        wait_for_records(5)
        yield Traffic(team_a.token.pk, team_b.token.pk)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_an_admin_reads_what_each_team_used(
    traffic: Traffic, page: Page, screenshots: Screenshots, language: str
) -> None:
    words = HEADINGS[language]
    page.goto("/")
    sign_in(page)
    if language != "en":
        page.locator(f'.language-switch button[value="{language}"]').click()
    expect(page.get_by_role("heading", name=words["dashboard"], exact=True)).to_be_visible()
    today = page.locator('[data-window="24h"]')
    expect(today.locator('[data-total="requests"]')).to_have_text("5")
    expect(page.locator("#dashboard-breakdowns")).to_contain_text("Team A")
    expect(page.locator("#dashboard-health")).to_contain_text("Broken")
    screenshots.take(page, f"{language}-dashboard")

    page.get_by_role("navigation").get_by_role("link", name=words["nav_logs"], exact=True).click()
    expect(page.get_by_role("heading", name=words["logs"], exact=True)).to_be_visible()
    expect(page.locator("#log-table tbody tr")).to_have_count(5)
    page.locator('select[name="token"]').select_option(str(traffic.team_a))
    expect(page).to_have_url(re.compile(rf"token={traffic.team_a}"))
    rows = page.locator("#log-table tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.filter(has_text="Team B")).to_have_count(0)
    screenshots.take(page, f"{language}-logs-team-a")

    failed = rows.filter(has=page.locator(".badge", has_text="502"))
    expect(failed).to_have_count(1)
    failed.get_by_role("link").first.click()
    chain = page.locator("#attempts li")
    expect(chain).to_have_count(1)
    expect(chain.first).to_contain_text("Broken")
    expect(chain.first).to_contain_text("500")
    expect(chain.first).to_contain_text("boom")
    screenshots.take(page, f"{language}-attempt-chain")

    page.go_back()
    expect(page.locator("#log-table tbody tr")).to_have_count(4)
    with page.expect_download() as download:
        page.locator("#log-export").click()
    with open(download.value.path(), encoding="utf-8-sig") as exported:
        lines = list(csv.reader(io.StringIO(exported.read())))
    assert len(lines) == 1 + 4  # the header, then Team A's records only
    assert all("Team B" not in ",".join(line) for line in lines)
