from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from channels_admin.listing import PAGE_SIZE
from channels_admin.models import Channel, ChannelStatus
from tests.support.factories import CHANNEL_KEY, make_channel
from tests.support.pages import HTMX, assert_forbidden, assert_login_redirect

pytestmark = pytest.mark.django_db


def _names(body: str) -> list[str]:
    """Channel names in the order their rows appear."""
    row_name = r'<td class="ch-col-name"[^>]*>\s*<a href="/channels/\d+/"[^>]*>([^<]*)</a>'
    return re.findall(row_name, body)


def test_it_sends_anonymous_visitors_to_login() -> None:
    assert_login_redirect(Client().get("/channels/"), "/channels/")


def test_it_refuses_non_staff(plain_client: Client) -> None:
    assert_forbidden(plain_client.get("/channels/"))


def test_it_rejects_post(staff_client: Client) -> None:
    assert staff_client.post("/channels/").status_code == 405


def test_it_shows_each_channel_row(staff_client: Client) -> None:
    channel = make_channel(
        name="OpenAI main",
        models=["gpt-4o-mini", "gpt-4o", "o1", "o3-mini", "gpt-4.1"],
        groups=["default", "vip"],
        weight=7,
        priority=3,
    )
    Channel.objects.filter(pk=channel.pk).update(last_response_ms=321)

    response = staff_client.get("/channels/")
    body = response.content.decode()

    assert response.status_code == 200
    assert "<h1>Channels</h1>" in body
    assert "OpenAI main" in body
    assert 'badge status-enabled">Enabled<' in body
    assert '<span class="ch-chip">vip</span>' in body
    # Models abbreviated to three, the rest counted and listed on hover.
    assert '<span class="ch-chip">o1</span>' in body
    assert '<span class="ch-chip">o3-mini</span>' not in body
    assert "+2 more" in body
    assert 'title="gpt-4o-mini, gpt-4o, o1, o3-mini, gpt-4.1"' in body
    # The weight box takes the largest weight there is.
    assert 'name="weight" min="0" max="2147483647" step="1" inputmode="numeric"' in body
    assert 'value="7"' in body and 'value="3"' in body
    assert "321 ms" in body
    assert "Never" in body  # never tested


def test_it_shows_the_auto_disable_reason(staff_client: Client, channel: Channel) -> None:
    Channel.objects.filter(pk=channel.pk).update(
        status=ChannelStatus.AUTO_DISABLED, status_reason="Upstream answered 401 <invalid key>"
    )
    body = staff_client.get("/channels/").content.decode()

    assert '<details class="ch-status-details">' in body
    assert 'title="Upstream answered 401 &lt;invalid key&gt;"' in body
    assert '<p class="small">Upstream answered 401 &lt;invalid key&gt;</p>' in body
    assert ">Enable</button>" in body


def test_it_escapes_user_text(staff_client: Client) -> None:
    make_channel(name="<script>alert(1)</script>", models=["<img src=x>"])
    body = staff_client.get("/channels/").content.decode()

    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<img src=x>" not in body


def test_it_never_shows_a_key(staff_client: Client, channel: Channel) -> None:
    response = staff_client.get("/channels/")
    assert CHANNEL_KEY.encode() not in response.content


def test_it_says_when_there_are_no_channels(staff_client: Client) -> None:
    body = staff_client.get("/channels/").content.decode()
    assert "No channels yet." in body
    assert 'href="/channels/add/"' in body


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("azure", ["Azure EU"]),  # name, any case
        ("api.deepseek.com", ["DeepSeek"]),  # base URL
        ("claude-3", ["Relay"]),  # a model
        ("fast", ["Relay"]),  # a mapped name
        ("nothing-like-this", []),
    ],
)
def test_it_searches_names_addresses_and_models(
    staff_client: Client, query: str, expected: list[str]
) -> None:
    make_channel(name="Azure EU", base_url="https://eu.example.net/v1", models=["gpt-4o"])
    make_channel(name="DeepSeek", base_url="https://api.deepseek.com/v1", models=["deepseek-chat"])
    make_channel(
        name="Relay",
        base_url="https://relay.example.org/v1",
        models=["claude-3-5-sonnet"],
        model_mapping={"fast": "claude-3-5-sonnet"},
    )
    body = staff_client.get("/channels/", {"q": query}).content.decode()

    assert sorted(_names(body)) == sorted(expected)
    assert f'value="{query}"' in body  # the search box keeps what was typed
    if not expected:
        assert "No channel matches these filters." in body


def test_it_filters_by_status_group_and_type(staff_client: Client) -> None:
    make_channel(name="On", groups=["default"])
    make_channel(name="Off", groups=["vip"], status="disabled")
    make_channel(name="Vip on", groups=["vip", "default"])

    assert _names(staff_client.get("/channels/", {"status": "disabled"}).content.decode()) == [
        "Off"
    ]
    vip = staff_client.get("/channels/", {"group": "vip"}).content.decode()
    assert sorted(_names(vip)) == ["Off", "Vip on"]
    both = staff_client.get("/channels/", {"group": "vip", "status": "enabled"}).content.decode()
    assert _names(both) == ["Vip on"]
    assert len(_names(staff_client.get("/channels/", {"type": "openai"}).content.decode())) == 3
    # The group filter offers every group in use, and keeps the chosen one selected.
    assert '<option value="vip" selected>vip</option>' in vip
    assert '<option value="default">default</option>' in vip


def test_unknown_filter_values_are_ignored(staff_client: Client, channel: Channel) -> None:
    response = staff_client.get("/channels/", {"status": "bogus", "o": "name;drop", "p": "x"})
    assert response.status_code == 200
    assert _names(response.content.decode()) == ["Primary"]


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("weight", ["light", "middle", "heavy"]),
        ("-weight", ["heavy", "middle", "light"]),
        ("priority", ["heavy", "light", "middle"]),
        ("-priority", ["middle", "light", "heavy"]),
        # Untested channels sort last both ways.
        ("response", ["middle", "heavy", "light"]),
        ("-response", ["heavy", "middle", "light"]),
        ("tested", ["heavy", "middle", "light"]),
        ("-tested", ["middle", "heavy", "light"]),
    ],
)
def test_it_sorts(staff_client: Client, order: str, expected: list[str]) -> None:
    now = timezone.now()
    heavy = make_channel(name="heavy", weight=9, priority=1)
    middle = make_channel(name="middle", weight=5, priority=8)
    make_channel(name="light", weight=1, priority=4)
    Channel.objects.filter(pk=heavy.pk).update(
        last_response_ms=900, last_test_at=now - timedelta(hours=2)
    )
    Channel.objects.filter(pk=middle.pk).update(
        last_response_ms=100, last_test_at=now - timedelta(minutes=5)
    )

    body = staff_client.get("/channels/", {"o": order}).content.decode()

    assert _names(body) == expected


def test_sort_links_toggle_and_keep_filters(staff_client: Client, channel: Channel) -> None:
    body = staff_client.get("/channels/", {"q": "Prim", "o": "weight"}).content.decode()

    assert 'aria-sort="ascending"' in body
    assert 'href="/channels/?q=Prim&amp;o=-weight"' in body
    assert 'href="/channels/?q=Prim&amp;o=priority"' in body


def test_it_paginates_and_keeps_filters_in_page_links(staff_client: Client) -> None:
    for index in range(PAGE_SIZE + 5):
        make_channel(name=f"vip-{index:02d}", groups=["vip"], priority=-index)
    make_channel(name="other", groups=["default"])

    first = staff_client.get("/channels/", {"group": "vip", "o": "-priority"}).content.decode()
    second = staff_client.get(
        "/channels/", {"group": "vip", "o": "-priority", "p": "2"}
    ).content.decode()

    assert _names(first) == [f"vip-{index:02d}" for index in range(PAGE_SIZE)]
    assert _names(second) == [f"vip-{index:02d}" for index in range(PAGE_SIZE, PAGE_SIZE + 5)]
    assert 'href="/channels/?group=vip&amp;o=-priority&amp;p=2"' in first
    assert 'href="/channels/?group=vip&amp;o=-priority&amp;p=1"' in second
    assert f"{PAGE_SIZE + 5} of {PAGE_SIZE + 6} channels match." in first


def test_a_page_past_the_end_shows_the_last(staff_client: Client) -> None:
    # Two pages, so the last is not the first.
    for index in range(PAGE_SIZE + 3):
        make_channel(name=f"ch-{index:02d}", priority=-index)

    body = staff_client.get("/channels/", {"p": "99"}).content.decode()

    assert _names(body) == [f"ch-{index:02d}" for index in range(PAGE_SIZE, PAGE_SIZE + 3)]
    assert '<span class="page-current" aria-current="page">2</span>' in body


def test_htmx_gets_only_the_table(staff_client: Client) -> None:
    make_channel(name="Alpha")
    make_channel(name="Beta")
    response = staff_client.get("/channels/", {"q": "beta"}, headers=HTMX)
    body = response.content.decode()

    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="channel-table"')
    assert "<html" not in body
    assert _names(body) == ["Beta"]
    # Rows rendered in this fragment send their no-JavaScript forms back to this filtered list.
    assert 'name="next" value="/channels/?q=beta"' in body


def test_a_history_restore_gets_the_full_page(staff_client: Client, channel: Channel) -> None:
    response = staff_client.get(
        "/channels/", headers={**HTMX, "HX-History-Restore-Request": "true"}
    )
    assert "<html" in response.content.decode()


def test_rows_offer_every_inline_action(staff_client: Client, channel: Channel) -> None:
    body = staff_client.get("/channels/").content.decode()
    pk = channel.pk

    assert f'hx-post="/channels/{pk}/test/"' in body
    assert f'hx-post="/channels/{pk}/status/"' in body
    assert f'hx-post="/channels/{pk}/copy/"' in body
    assert f'hx-post="/channels/{pk}/inline/"' in body
    # Delete asks first: hx-confirm with JavaScript, a confirmation page without.
    assert f'href="/channels/{pk}/delete/?next=/channels/"' in body
    assert f'hx-post="/channels/{pk}/delete/"' in body
    assert "hx-confirm=" in body
    # Every form also works as a plain form post.
    assert f'<form method="post" action="/channels/{pk}/test/"' in body
    assert 'name="csrfmiddlewaretoken"' in body


def test_it_speaks_simplified_chinese(staff_client: Client, channel: Channel) -> None:
    Channel.objects.filter(pk=channel.pk).update(status=ChannelStatus.AUTO_DISABLED)
    body = staff_client.get("/channels/", headers={"Accept-Language": "zh-hans"}).content.decode()

    assert "<h1>渠道管理</h1>" in body
    assert ">添加渠道</a>" in body
    assert ">权重<" in body and ">优先级<" in body
    assert 'badge status-auto_disabled" title="">自动禁用</summary>' in body
    assert ">启用</button>" in body
    assert ">测试</button>" in body


def test_the_new_words_speak_simplified_chinese(staff_client: Client) -> None:
    channel = make_channel(model_mapping={"fast": "gpt-4o-mini"})
    Channel.objects.filter(pk=channel.pk).update(
        last_test_at=timezone.now(), last_test_ok=False, last_test_error="HTTP 500"
    )
    zh = {"Accept-Language": "zh-hans"}
    body = staff_client.get("/channels/", headers=zh).content.decode()

    assert ">状态 / 分组</th>" in body
    assert ">别名：</span>" in body  # noqa: RUF001
    assert '<label for="test-scope">测试范围</label>' in body
    assert "✗ 失败：HTTP 500</div>" in body  # noqa: RUF001
    assert ">刚刚</time>" in body
    row = staff_client.post(
        f"/channels/{channel.pk}/inline/", {"weight": "2147483648"}, headers={**zh, **HTMX}
    ).content.decode()
    assert "<li>不能大于 2147483647。</li>" in row


def test_htmx_pushes_the_tidy_address(staff_client: Client, channel: Channel) -> None:
    response = staff_client.get(
        "/channels/", {"q": "Prim", "status": "", "group": "", "type": "", "o": ""}, headers=HTMX
    )
    assert response["HX-Push-Url"] == "/channels/?q=Prim"


def test_it_answers_page_or_fragment_by_the_htmx_header(
    staff_client: Client, channel: Channel
) -> None:
    assert "HX-Request" in staff_client.get("/channels/")["Vary"]
    assert "HX-Request" in staff_client.get("/channels/", headers=HTMX)["Vary"]


def test_the_row_names_the_aliases_clients_can_call(staff_client: Client) -> None:
    make_channel(
        models=["gpt-4o-mini"],
        model_mapping={"fast": "gpt-4o-mini", "cheap": "gpt-4o-mini", "a": "b", "<x>": "y"},
    )
    body = staff_client.get("/channels/").content.decode()

    assert '<span class="muted small">Aliases:</span>' in body
    # Three shown (PostgreSQL keeps a JSON object's keys in its own order, so any three) ...
    shown = re.findall(r'<span class="ch-chip ch-alias" title="([^"]*)">([^<]*)</span>', body)
    assert len(shown) == 3
    for title, alias in shown:
        assert title.startswith(f"{alias} → ")
    # ... and past three the rest are counted, and all are named on hover.
    more = re.search(r'<span class="ch-more" title="([^"]*)">\+1 more</span>', body)
    assert more is not None
    for pair in ("fast → gpt-4o-mini", "cheap → gpt-4o-mini", "a → b", "&lt;x&gt; → y"):
        assert pair in more.group(1)
    assert "mapping" not in body.split('class="ch-col-models"')[1].split("</td>")[0]


def test_the_row_shows_the_whole_api_address(staff_client: Client) -> None:
    url = "https://gateway.eu-west-1.example-provider.net/openai/deployments/v1"
    make_channel(base_url=url)
    body = staff_client.get("/channels/").content.decode()

    # Not cut on the server: the cell shows all it has room for, and all of it on hover.
    assert f'<div class="small ch-url" title="{url}">{url}</div>' in body
    assert '<div class="muted small">OpenAI-compatible</div>' in body


def test_the_row_keeps_the_last_test_outcome(staff_client: Client) -> None:
    failed = make_channel(name="Broken")
    passed = make_channel(name="Fine")
    Channel.objects.filter(pk=failed.pk).update(
        last_test_at=timezone.now(), last_test_ok=False, last_test_error="Incorrect API key <x>"
    )
    Channel.objects.filter(pk=passed.pk).update(
        last_test_at=timezone.now() - timedelta(minutes=5), last_test_ok=True, last_response_ms=80
    )
    body = staff_client.get("/channels/").content.decode()
    broken_row = body.split(f'id="channel-{failed.pk}"')[1].split("</tr>")[0]
    fine_row = body.split(f'id="channel-{passed.pk}"')[1].split("</tr>")[0]

    assert 'title="Incorrect API key &lt;x&gt;">✗ Failed: Incorrect API key &lt;x&gt;</div>' in (
        broken_row
    )
    assert ">just now</time>" in broken_row
    assert "✓ Passed</div>" in fine_row
    assert ">5\xa0minutes ago</time>" in fine_row
    assert "80 ms" in fine_row


@pytest.mark.parametrize(
    ("tested", "expected"), [("failed", ["Broken"]), ("passed", ["Fine"]), ("never", ["New"])]
)
def test_it_filters_by_the_last_test(
    staff_client: Client, tested: str, expected: list[str]
) -> None:
    now = timezone.now()
    Channel.objects.filter(pk=make_channel(name="Broken").pk).update(
        last_test_at=now, last_test_ok=False, last_test_error="HTTP 500"
    )
    Channel.objects.filter(pk=make_channel(name="Fine").pk).update(
        last_test_at=now, last_test_ok=True
    )
    make_channel(name="New")

    body = staff_client.get("/channels/", {"tested": tested}).content.decode()

    assert _names(body) == expected
    assert f'<option value="{tested}" selected>' in body


def test_test_all_has_a_labelled_scope(staff_client: Client, channel: Channel) -> None:
    body = staff_client.get("/channels/").content.decode()

    # A visible label, in its own box: not one of the list's filters.
    assert '<label for="test-scope">Test the upstreams of</label>' in body
    assert 'id="test-scope" name="scope"' in body
    test_all = body.split('class="card compact ch-test-all"')[1].split("</form>")[0]
    assert 'id="channel-filters"' not in test_all
