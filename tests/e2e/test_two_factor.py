"""Two-factor sign-in in a real browser: enrol, sign out, sign in with a code, see it audited.

The test plays the phone: it reads the secret off the setup page and computes the codes with
django-otp's own HOTP, one time step apart (a code is never accepted twice).
Screenshots land in test-artifacts/e2e/two_factor/ (git-ignored).
"""

from __future__ import annotations

import base64
import re
import time

import pytest
from django_otp.oath import hotp
from playwright.sync_api import Page, expect

from tests.support.browser import Screenshots, main_nav, sign_in

pytestmark = pytest.mark.browser

STEP_SECONDS = 30


def current_step() -> int:
    return int(time.time() // STEP_SECONDS)


def code_at(key: bytes, step: int) -> str:
    return f"{hotp(key, step, digits=6):06d}"


def enrol(page: Page, shots: Screenshots) -> tuple[bytes, int]:
    """The authenticator's key, and the time step of the code that confirmed it."""
    page.locator(".topbar").get_by_role("link", name="alice", exact=True).click()
    expect(page.get_by_role("heading", name="Security", exact=True)).to_be_visible()
    expect(page.locator("#two-factor-status")).to_have_text("Off")
    page.get_by_role("button", name="Set up two-factor sign-in").click()

    expect(page.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text()
    assert re.fullmatch(r"([A-Z2-7]{4} ){7}[A-Z2-7]{4}", secret)
    key = base64.b32decode(secret.replace(" ", ""))
    shots.take(page, "two-factor-setup")

    step = current_step()
    page.get_by_label("6-digit code from the app").fill(code_at(key, step))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()

    expect(page.get_by_role("heading", name="Two-factor sign-in is on")).to_be_visible()
    codes = page.locator("#recovery-code-list li")
    expect(codes).to_have_count(10)
    expect(codes.first).to_have_text(re.compile(r"^[a-z2-7]{4}-[a-z2-7]{4}$"))
    shots.take(page, "recovery-codes")
    page.get_by_role("link", name="I have saved the codes").click()
    expect(page.locator("#two-factor-status")).to_have_text("On")
    expect(page.locator("#recovery-codes-left")).to_have_text("10")
    return key, step


def sign_in_with_code(page: Page, key: bytes, used_step: int, shots: Screenshots) -> None:
    page.goto("/tokens/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/tokens/$"))
    sign_in(page)

    expect(page).to_have_url(re.compile(r"/account/verify/\?next=%2Ftokens%2F$"))
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    # Nothing else opens before the code: not even by typing an address.
    page.goto("/channels/")
    expect(page).to_have_url(re.compile(r"/account/verify/\?next=%2Fchannels%2F$"))
    page.goto("/account/verify/?next=/tokens/")
    shots.take(page, "verify")

    # The next time step's code: the one that confirmed the setup cannot be used again.
    page.get_by_label("Code").fill(code_at(key, max(current_step(), used_step + 1)))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/tokens/$"))
    expect(page.get_by_role("heading", name="Tokens", exact=True)).to_be_visible()


def check_audit_log(page: Page, shots: Screenshots) -> None:
    main_nav(page, "Audit log").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    actions = page.locator("#audit-table tbody .audit-action")
    expect(actions).to_have_text(["Signed in", "Two-factor sign-in turned on", "Signed in"])
    newest = page.locator("#audit-table tbody tr").first
    expect(newest).to_contain_text("alice")
    expect(newest).to_contain_text("authenticator code")
    shots.take(page, "audit-log")

    page.get_by_label("Action").select_option(label="Two-factor sign-in turned on")
    expect(actions).to_have_text(["Two-factor sign-in turned on"])
    expect(page).to_have_url(re.compile(r"/audit/\?.*action=two_factor_enabled"))
    shots.take(page, "audit-log-filtered")


def test_an_admin_enrols_in_two_factor_and_signs_in_with_a_code(
    page: Page, screenshots: Screenshots
) -> None:
    page.goto("/")
    sign_in(page)
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()

    key, used_step = enrol(page, screenshots)
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in to Tollgate")).to_be_visible()

    sign_in_with_code(page, key, used_step, screenshots)
    check_audit_log(page, screenshots)
