"""/channels/: each channel's last-hour success rate and p50 latency beside it, read for the
whole page at once; the edit page loads the channel's health panel."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.support.factories import make_channel
from tests.support.pages import HTMX
from tests.support.usage_entries import hours_ago, served, store

pytestmark = pytest.mark.django_db


def _row(body: str, pk: int) -> str:
    start = body.index(f'id="channel-{pk}"')
    return body[start : body.index("</tr>", start)]


def test_the_list_shows_last_hours_success_rate_and_p50(staff_client: Client) -> None:
    busy = make_channel(name="busy")
    quiet = make_channel(name="quiet")
    store(
        *[served(channel_id=busy.pk, latency_ms=90) for _ in range(3)],
        served(channel_id=busy.pk, status=502, latency_ms=90),
        served(channel_id=quiet.pk, created_at=hours_ago(5)),  # not the last hour
    )
    body = staff_client.get("/channels/").content.decode()

    assert "Last hour" in body
    row = _row(body, busy.pk)
    assert '<span class="ch-success-rate" title="4 attempts">75.0%</span>' in row
    assert "p50 ≤ 100 ms" in row
    assert 'title="No traffic in the last hour">—</span>' in _row(body, quiet.pk)


def test_the_list_reads_health_in_a_bounded_number_of_queries(
    staff_client: Client, django_assert_max_num_queries: Any
) -> None:
    staff_client.get("/channels/")  # session and first-use reads out of the way
    few = [make_channel(name=f"c{n}") for n in range(2)]
    store(*[served(channel_id=channel.pk) for channel in few])
    with django_assert_max_num_queries(50) as few_queries:
        staff_client.get("/channels/")
    many = [make_channel(name=f"d{n}") for n in range(15)]
    store(*[served(channel_id=channel.pk) for channel in many])
    with django_assert_max_num_queries(len(few_queries.captured_queries)) as many_queries:
        body = staff_client.get("/channels/").content.decode()
    assert body.count('class="ch-success-rate"') == 17
    assert len(many_queries.captured_queries) == len(few_queries.captured_queries)


def test_a_row_rendered_alone_still_shows_its_health(csrf_client: Client) -> None:
    channel = make_channel()
    store(served(channel_id=channel.pk, latency_ms=40))
    token = csrf_client.get("/channels/").cookies["csrftoken"].value
    row = csrf_client.post(
        f"/channels/{channel.pk}/inline/",
        {"weight": "3"},
        headers={**HTMX, "X-CSRFToken": token},
    ).content.decode()
    assert '<span class="ch-success-rate" title="1 attempt">100.0%</span>' in row
    assert "p50 ≤ 50 ms" in row


def test_the_edit_page_loads_the_health_panel_and_links_to_it(staff_client: Client) -> None:
    channel = make_channel()
    body = staff_client.get(f"/channels/{channel.pk}/").content.decode()
    assert f'hx-get="/usage/channels/{channel.pk}/" hx-trigger="load"' in body
    assert f'<a href="/usage/channels/{channel.pk}/">' in body
    assert "/usage/channels/" not in staff_client.get("/channels/add/").content.decode()


def test_it_speaks_simplified_chinese(staff_client: Client) -> None:
    channel = make_channel()
    store(served(channel_id=channel.pk))
    body = staff_client.get("/channels/", headers={"Accept-Language": "zh-hans"}).content.decode()
    assert "最近一小时" in body
