"""{{ value|ago }}: one way to show a time, relative, with the exact time on hover."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from core.templatetags.adminui import ago, relative_time

NOW = datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(0), "just now"),
        (timedelta(seconds=-30), "just now"),
        (timedelta(seconds=30), "just now"),
        (timedelta(minutes=-5), "5\xa0minutes ago"),
        (timedelta(days=-2, hours=-3), "2\xa0days ago"),
        (timedelta(days=3, hours=2), "in 3\xa0days"),
    ],
)
def test_it_says_how_long_ago_in_the_largest_unit(delta: timedelta, text: str) -> None:
    assert relative_time(NOW + delta, NOW) == text


def test_it_never_says_zero_minutes_ago() -> None:
    for seconds in range(0, 120, 5):
        assert not relative_time(NOW - timedelta(seconds=seconds), NOW).startswith("0")


def test_the_exact_time_is_on_hover_in_the_gateway_time_zone(settings: object) -> None:
    with timezone.override("Asia/Shanghai"):
        html = ago(timezone.now() - timedelta(minutes=5))
    assert html.startswith('<time datetime="')
    assert ' title="' in html and " CST" in html
    assert html.endswith("5\xa0minutes ago</time>")


def test_an_empty_time_renders_nothing() -> None:
    rendered = Template("{% load adminui %}[{{ value|ago }}]").render(Context({"value": None}))
    assert rendered == "[]"


def test_it_speaks_chinese() -> None:
    with translation.override("zh-hans"):
        assert relative_time(NOW, NOW) == "刚刚"
        assert relative_time(NOW - timedelta(minutes=5), NOW).endswith("前")
        assert relative_time(NOW + timedelta(days=3), NOW).endswith("后")
