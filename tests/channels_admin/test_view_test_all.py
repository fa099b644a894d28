from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from audit.services import Actor
from channels_admin import probe
from channels_admin.models import Channel, ChannelStatus
from channels_admin.views_probe import TEST_CONCURRENCY
from tests.support.factories import make_channel
from tests.support.pages import HTMX, assert_forbidden, assert_login_redirect

pytestmark = pytest.mark.django_db


@pytest.fixture
def three(upstream: Any) -> dict[str, Channel]:
    """An enabled, an auto-disabled and a disabled channel, all able to pass."""
    channels = {
        status: make_channel(name=f"ch-{status}", base_url=upstream.v1, key=upstream.api_key)
        for status in ("enabled", "auto_disabled", "disabled")
    }
    for status, channel in channels.items():
        Channel.objects.filter(pk=channel.pk).update(status=status)
    return channels


def test_it_sends_anonymous_visitors_to_login() -> None:
    assert_login_redirect(Client().post("/channels/test-all/"), "/channels/test-all/")


def test_it_refuses_non_staff(
    plain_client: Client, three: dict[str, Channel], upstream: Any
) -> None:
    assert_forbidden(plain_client.post("/channels/test-all/"))
    assert upstream.requests == []


def test_it_rejects_get(staff_client: Client) -> None:
    assert staff_client.get("/channels/test-all/").status_code == 405


def test_htmx_answers_with_a_panel_that_tests_each_channel(
    staff_client: Client, three: dict[str, Channel], upstream: Any
) -> None:
    body = staff_client.post("/channels/test-all/", headers=HTMX).content.decode()

    # Enabled and auto-disabled channels are tested (a pass re-enables the latter).
    for status in ("enabled", "auto_disabled"):
        pk = three[status].pk
        assert f'<li id="test-run-{pk}"' in body
        assert f'hx-post="/channels/{pk}/test/"' in body
    assert f'id="test-run-{three["disabled"].pk}"' not in body
    assert 'hx-trigger="load"' in body
    assert json.loads(re.search(r"hx-vals='([^']*)'", body).group(1)) == {"fragment": "run"}
    # The browser runs the tests, nothing has been called yet.
    assert upstream.requests == []
    assert "<html" not in body
    # A summary counts the results in as they arrive (channels.js), and says when it is done.
    assert '<p class="ch-test-run-summary" role="status" data-test-run-summary data-total="2"' in (
        body
    )
    assert 'data-finished="%(done)s tested: %(passed)s passed, %(failed)s failed. Done."' in body
    assert ">Testing 2 channels…</p>" in body


def test_htmx_panel_bounds_the_requests_in_flight(staff_client: Client) -> None:
    for index in range(TEST_CONCURRENCY * 2 + 1):
        make_channel(name=f"ch-{index}")
    body = staff_client.post("/channels/test-all/", headers=HTMX).content.decode()

    # Each item queues on one of TEST_CONCURRENCY lanes; a lane runs one request at a time.
    lanes = re.findall(r'hx-sync="(#test-lane-\d+):queue all"', body)
    assert len(lanes) == TEST_CONCURRENCY * 2 + 1
    assert len(set(lanes)) == TEST_CONCURRENCY
    for lane in set(lanes):
        assert f'<span id="{lane[1:]}" hidden></span>' in body


def test_scope_all_includes_disabled_channels(
    staff_client: Client, three: dict[str, Channel]
) -> None:
    body = staff_client.post("/channels/test-all/", {"scope": "all"}, headers=HTMX).content.decode()
    assert all(f'id="test-run-{channel.pk}"' in body for channel in three.values())
    assert "Testing all channels" in body


def test_without_htmx_it_tests_them_all_and_shows_the_results(
    staff_client: Client, three: dict[str, Channel], upstream: Any
) -> None:
    broken = make_channel(name="broken", base_url=upstream.v1, key="sk-not-the-right-one-123")
    response = staff_client.post("/channels/test-all/")
    body = response.content.decode()

    assert response.status_code == 200
    assert "<h1>Test results</h1>" in body
    assert "3 tested: 2 passed, 1 failed." in body
    assert len(re.findall(r"✓ OK in \d+ ms", body)) == 2
    assert "✗ gpt-4o-mini: Incorrect API key provided" in body
    assert "sk-not-the-right-one-123" not in body
    assert upstream.api_key not in body
    # The auto-disabled channel passed and is back; the disabled one was not tested.
    assert Channel.objects.get(pk=three["auto_disabled"].pk).status == "enabled"
    assert Channel.objects.get(pk=three["disabled"].pk).last_test_at is None
    assert Channel.objects.get(pk=broken.pk).last_test_at is not None


def test_without_htmx_scope_all_tests_disabled_ones_too(
    staff_client: Client, three: dict[str, Channel]
) -> None:
    body = staff_client.post("/channels/test-all/", {"scope": "all"}).content.decode()

    assert "3 tested: 3 passed, 0 failed." in body
    # Tested, but a manual disable is the admin's decision: it stays.
    disabled = Channel.objects.get(pk=three["disabled"].pk)
    assert disabled.last_test_at is not None
    assert disabled.status == ChannelStatus.DISABLED


def test_without_htmx_at_most_the_bound_run_at_once(
    staff_client: Client, upstream: Any, monkeypatch: Any
) -> None:
    total = TEST_CONCURRENCY + 3
    for index in range(total):
        make_channel(name=f"ch-{index}", base_url=upstream.v1, key=upstream.api_key)
    real_test = probe.run_channel_test
    in_flight = 0
    most = 0

    async def counted(channel: Channel, *, actor: Actor) -> Any:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        try:
            return await real_test(channel, actor=actor)
        finally:
            in_flight -= 1

    # Every test starts before any upstream answers, so `most` is how many the runner let in.
    monkeypatch.setattr(probe, "run_channel_test", counted)
    body = staff_client.post("/channels/test-all/").content.decode()

    assert f"{total} tested: {total} passed, 0 failed." in body
    assert most == TEST_CONCURRENCY
    assert len([r for r in upstream.requests if r.path == "/v1/chat/completions"]) == total
