from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from channels_admin.models import Channel, ChannelStatus
from channels_admin.services import channel_update
from tests.support.factories import make_channel
from tests.support.pages import HTMX, assert_forbidden, assert_login_redirect

pytestmark = pytest.mark.django_db
WRONG_KEY = "sk-wrong-key-for-this-upstream-0000"


def _latency(body: str) -> int:
    match = re.search(r"✓ OK in (\d+) ms \(gpt-4o-mini\)", body)
    assert match, body
    return int(match.group(1))


def _row_latency(body: str) -> int:
    """The response time a row shows, after a test its Last test column announces as passed."""
    match = re.search(r'<span class="ch-response">(\d+) ms</span>', body)
    assert match, body
    assert '<div class="ch-outcome ch-result ch-result-ok" role="status">✓ Passed</div>' in body
    return int(match.group(1))


def test_it_sends_anonymous_visitors_to_login(live_channel: Channel, upstream: Any) -> None:
    url = f"/channels/{live_channel.pk}/test/"
    assert_login_redirect(Client().post(url), url)
    assert upstream.requests == []


def test_it_refuses_non_staff(plain_client: Client, live_channel: Channel, upstream: Any) -> None:
    assert_forbidden(plain_client.post(f"/channels/{live_channel.pk}/test/"))
    assert upstream.requests == []


def test_it_rejects_get(staff_client: Client, live_channel: Channel, upstream: Any) -> None:
    assert staff_client.get(f"/channels/{live_channel.pk}/test/").status_code == 405
    assert upstream.requests == []


def test_it_checks_csrf(csrf_client: Client, live_channel: Channel, upstream: Any) -> None:
    assert csrf_client.post(f"/channels/{live_channel.pk}/test/", headers=HTMX).status_code == 403
    assert upstream.requests == []


def test_the_row_shows_the_latency(
    staff_client: Client, live_channel: Channel, upstream: Any
) -> None:
    response = staff_client.post(
        f"/channels/{live_channel.pk}/test/", {"fragment": "row"}, headers=HTMX
    )
    body = response.content.decode()

    assert response.status_code == 200
    assert body.startswith(f'<tr id="channel-{live_channel.pk}"')
    latency = _row_latency(body)
    live_channel.refresh_from_db()
    assert live_channel.last_response_ms == latency
    assert live_channel.last_test_at is not None
    assert ">just now</time>" in body
    assert "HX-Request" in response["Vary"]
    sent = upstream.requests[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.json()["model"] == "gpt-4o-mini"
    assert upstream.api_key not in body


def test_it_tests_the_mapped_test_model(staff_client: Client, upstream: Any) -> None:
    channel = make_channel(
        base_url=upstream.v1,
        key=upstream.api_key,
        models=["fast"],
        model_mapping={"fast": "gpt-4o-mini"},
        test_model="fast",
    )
    body = staff_client.post(f"/channels/{channel.pk}/test/", headers=HTMX).content.decode()

    _row_latency(body)
    assert upstream.requests[-1].json()["model"] == "gpt-4o-mini"


def test_a_wrong_key_shows_the_upstreams_error_without_the_key(
    staff_client: Client, upstream: Any
) -> None:
    channel = make_channel(base_url=upstream.v1, key=WRONG_KEY)
    response = staff_client.post(f"/channels/{channel.pk}/test/", headers=HTMX)
    body = response.content.decode()

    assert (
        '<div class="ch-outcome ch-result ch-result-failed" role="alert" title="Incorrect API key '
        "provided" in body
    )
    assert "✗ Failed: Incorrect API key provided" in body
    assert WRONG_KEY not in body
    assert upstream.requests[-1].headers["authorization"] == f"Bearer {WRONG_KEY}"
    channel.refresh_from_db()
    assert channel.last_test_at is not None
    assert channel.last_response_ms is None
    assert channel.last_test_ok is False
    assert channel.last_test_error.startswith("Incorrect API key provided")
    assert WRONG_KEY not in channel.last_test_error


def test_an_upstream_error_message_is_shown(
    staff_client: Client, live_channel: Channel, upstream: Any
) -> None:
    upstream.fail_with = (503, {"error": {"message": "The model is overloaded <retry>"}})
    body = staff_client.post(f"/channels/{live_channel.pk}/test/", headers=HTMX).content.decode()

    assert "✗ Failed: The model is overloaded &lt;retry&gt;" in body


def test_the_edit_page_gets_just_the_result(
    staff_client: Client, live_channel: Channel, upstream: Any
) -> None:
    body = staff_client.post(
        f"/channels/{live_channel.pk}/test/", {"fragment": "result"}, headers=HTMX
    ).content.decode()

    assert body.startswith('<span class="ch-result ch-result-ok" role="status">✓ OK in')
    assert "<tr" not in body
    _latency(body)


def test_a_test_all_item_also_updates_the_row(
    staff_client: Client, live_channel: Channel, upstream: Any
) -> None:
    body = staff_client.post(
        f"/channels/{live_channel.pk}/test/", {"fragment": "run"}, headers=HTMX
    ).content.decode()

    assert body.startswith(f'<li id="test-run-{live_channel.pk}" class="ch-test-run-item is-ok">')
    _latency(body)
    # The row travels out of band, wrapped in <template> so a <tr> parses outside a table.
    assert f'<template><tr id="channel-{live_channel.pk}"' in body
    assert 'hx-swap-oob="true"' in body


def test_a_pass_re_enables_an_auto_disabled_channel(
    staff_client: Client, live_channel: Channel, upstream: Any
) -> None:
    Channel.objects.filter(pk=live_channel.pk).update(
        status=ChannelStatus.AUTO_DISABLED, status_reason="HTTP 502"
    )
    body = staff_client.post(f"/channels/{live_channel.pk}/test/", headers=HTMX).content.decode()

    assert 'badge status-enabled">Enabled<' in body
    live_channel.refresh_from_db()
    assert (live_channel.status, live_channel.status_reason) == ("enabled", "")


def test_a_pass_leaves_a_disabled_channel_disabled(
    staff_client: Client, live_channel: Channel, upstream: Any
) -> None:
    Channel.objects.filter(pk=live_channel.pk).update(status=ChannelStatus.DISABLED)
    body = staff_client.post(f"/channels/{live_channel.pk}/test/", headers=HTMX).content.decode()

    _row_latency(body)
    assert 'badge status-disabled">Disabled<' in body
    assert Channel.objects.get(pk=live_channel.pk).status == "disabled"


def test_a_failure_leaves_an_auto_disabled_channel_so(staff_client: Client, upstream: Any) -> None:
    channel = make_channel(base_url=upstream.v1, key=WRONG_KEY)
    Channel.objects.filter(pk=channel.pk).update(status=ChannelStatus.AUTO_DISABLED)
    staff_client.post(f"/channels/{channel.pk}/test/", headers=HTMX)
    assert Channel.objects.get(pk=channel.pk).status == "auto_disabled"


def test_without_htmx_it_redirects_with_the_result(
    staff_client: Client, live_channel: Channel, upstream: Any
) -> None:
    response = staff_client.post(
        f"/channels/{live_channel.pk}/test/", {"next": f"/channels/{live_channel.pk}/"}
    )
    assert response["Location"] == f"/channels/{live_channel.pk}/"
    page = staff_client.get(response["Location"]).content.decode()
    assert re.search(r"“Live” passed the test in \d+ ms\.", page)


def test_without_htmx_a_failure_is_an_error_message(staff_client: Client, upstream: Any) -> None:
    channel = make_channel(base_url=upstream.v1, key=WRONG_KEY)
    page = staff_client.post(f"/channels/{channel.pk}/test/", follow=True).content.decode()

    assert "“Primary” failed the test: Incorrect API key provided" in page
    assert WRONG_KEY not in page


def test_a_channel_without_models_says_so(staff_client: Client, channel: Channel) -> None:
    Channel.objects.filter(pk=channel.pk).update(model_names=[], test_model="")
    body = staff_client.post(f"/channels/{channel.pk}/test/", headers=HTMX).content.decode()
    assert "✗ Failed: The channel has no model to test." in body


def test_it_404s_for_a_missing_channel(staff_client: Client) -> None:
    assert staff_client.post("/channels/999/test/", headers=HTMX).status_code == 404


def test_a_failure_stays_on_the_row_and_the_edit_page_after_navigating(
    staff_client: Client, upstream: Any
) -> None:
    channel = make_channel(base_url=upstream.v1, key=WRONG_KEY)
    staff_client.post(f"/channels/{channel.pk}/test/", headers=HTMX)

    listing = staff_client.get("/channels/").content.decode()
    edit = staff_client.get(f"/channels/{channel.pk}/").content.decode()

    for page in (listing, edit):
        assert "✗ Failed: Incorrect API key provided" in page
        assert ">just now</time>" in page
        assert WRONG_KEY not in page
    assert "Last test <time" in edit


def test_a_pass_after_a_failure_clears_it(staff_client: Client, upstream: Any) -> None:
    channel = make_channel(base_url=upstream.v1, key=WRONG_KEY)
    staff_client.post(f"/channels/{channel.pk}/test/", headers=HTMX)
    channel_update(channel=channel, changes={"key": upstream.api_key})
    staff_client.post(f"/channels/{channel.pk}/test/", headers=HTMX)

    body = staff_client.get("/channels/").content.decode()
    assert "✓ Passed" in body
    assert "✗ Failed" not in body
