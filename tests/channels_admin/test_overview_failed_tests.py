"""The overview says how many channels failed their last test, and links to them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import timezone

from channels_admin.models import Channel
from channels_admin.selectors import failed_last_test_count

pytestmark = pytest.mark.django_db
MakeChannel = Callable[..., Channel]


def _tested(channel: Channel, *, ok: bool) -> None:
    Channel.objects.filter(pk=channel.pk).update(
        last_test_at=timezone.now(), last_test_ok=ok, last_test_error="" if ok else "HTTP 401"
    )


def test_it_counts_only_failed_last_tests(make_channel: MakeChannel) -> None:
    _tested(make_channel(name="a"), ok=False)
    _tested(make_channel(name="b"), ok=False)
    _tested(make_channel(name="c"), ok=True)
    make_channel(name="never tested")
    assert failed_last_test_count() == 2


def test_the_overview_says_how_many_failed(admin_client: Client, make_channel: MakeChannel) -> None:
    _tested(make_channel(name="a"), ok=False)
    _tested(make_channel(name="b"), ok=False)
    _tested(make_channel(name="c"), ok=True)

    body = admin_client.get("/").content.decode()

    assert '<a href="/channels/?tested=failed">2 channels failed their last test.</a>' in body
    # The link shows exactly those channels.
    listing = admin_client.get("/channels/?tested=failed").content.decode()
    assert listing.count('class="ch-row ') == 2


def test_one_failure_reads_in_the_singular_and_none_says_nothing(
    admin_client: Client, make_channel: MakeChannel
) -> None:
    channel = make_channel()
    assert "failed its last test" not in admin_client.get("/").content.decode()
    assert "failed their last test" not in admin_client.get("/").content.decode()

    _tested(channel, ok=False)
    assert "1 channel failed its last test." in admin_client.get("/").content.decode()


def test_it_speaks_simplified_chinese(admin_client: Client, make_channel: MakeChannel) -> None:
    _tested(make_channel(), ok=False)
    body = admin_client.get("/", headers={"Accept-Language": "zh-hans"}).content.decode()
    assert "1 个渠道最近一次测试失败。" in body
