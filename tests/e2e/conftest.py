"""A live gateway and a headless Debian Chromium for the browser tests (alice signs in)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.support.browser import Screenshots
from tests.support.live_gateway import serving_gateway

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
_failed = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    # Lets the `page` fixture know the test failed, to keep a picture of where.
    report = yield
    if report.when == "call":
        item.stash[_failed] = report.failed
    return report


@pytest.fixture
def gateway_url(transactional_db: None) -> Iterator[str]:
    """The whole ASGI app (admin pages and /v1) on a free loopback port.

    transactional_db: the server thread has its own connection and sees only committed rows.
    The relay re-reads the admin's changes on every request, so a channel saved in the browser
    serves the very next call. The pages offer this server's own /v1 (no PUBLIC_BASE_URL).
    """
    with serving_gateway() as gateway:
        yield gateway.url


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Screenshots:
    """One folder per test module (test_two_factor.py → test-artifacts/e2e/two_factor/)."""
    directory = ARTIFACTS / request.path.stem.removeprefix("test_")
    directory.mkdir(parents=True, exist_ok=True)
    # Pictures of an earlier run would pass for this one's.
    for old in directory.glob("*.png"):
        old.unlink()
    return Screenshots(directory)


@pytest.fixture
def page(
    request: pytest.FixtureRequest, alice: Any, gateway_url: str, screenshots: Screenshots
) -> Iterator[Page]:
    """A fresh headless Chromium tab, English, allowed to use the clipboard; alice (the root
    conftest's administrator) exists to sign in with tests.support.browser.sign_in.

    Playwright's sync API marks its event loop as running in this thread between calls, and
    Django's ORM then refuses to run here (SynchronousOnlyOperation). So this fixture needs
    every fixture that writes to the database, which therefore runs before the browser starts,
    and the tests assert on what the pages show rather than on database rows.
    """
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(
            f"CHROMIUM NOT INSTALLED at {CHROMIUM}: browser test NOT RUN "
            "(`make browser-deps` installs Debian's chromium)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(
            base_url=gateway_url,
            locale="en-US",
            viewport={"width": 1280, "height": 900},
        )
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=gateway_url)
        context.set_default_timeout(10_000)
        tab = context.new_page()
        try:
            yield tab
        finally:
            if request.node.stash.get(_failed, False):
                tab.screenshot(path=str(screenshots.directory / "failed.png"), full_page=True)
            context.close()
            browser.close()
