from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.support.factories import make_token
from tests.support.pages import HTMX, assert_forbidden, assert_login_redirect
from tokens.models import Token

pytestmark = pytest.mark.django_db


def test_it_sends_anonymous_visitors_to_login() -> None:
    assert_login_redirect(Client().get("/tokens/?q=x"), "/tokens/?q=x")


def test_it_refuses_non_staff(plain_client: Client) -> None:
    assert_forbidden(plain_client.get("/tokens/"))


def test_an_htmx_request_from_an_anonymous_visitor_reloads_to_login() -> None:
    response = Client().get("/tokens/", headers={**HTMX, "HX-Current-URL": "/tokens/?p=2"})
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith("/login/?next=")


def test_it_lists_tokens_without_their_keys(staff_client: Client) -> None:
    token, key = make_token(
        name="Team A", group="vip", models=["gpt-4o", "gpt-4o-mini", "o3", "o4-mini"]
    )
    Token.objects.filter(pk=token.pk).update(
        last_used_at=timezone.now(), expires_at=timezone.now() + timedelta(days=3)
    )
    body = staff_client.get("/tokens/").content.decode()
    assert "Team A" in body
    assert token.display_prefix in body
    assert "vip" in body
    assert "Enabled" in body
    assert "gpt-4o, gpt-4o-mini, o3" in body
    assert "+1 more" in body
    assert "Never" not in body
    assert key not in body
    assert key[len(token.prefix) :] not in body


def test_it_shows_never_and_all_models(staff_client: Client) -> None:
    make_token(name="Plain")
    body = staff_client.get("/tokens/").content.decode()
    assert body.count(">Never<") == 2
    assert "All models" in body


def test_it_marks_disabled_and_expired_tokens(staff_client: Client) -> None:
    make_token(name="Off", status="disabled")
    make_token(name="Old", expires_at=timezone.now() - timedelta(hours=1))
    body = staff_client.get("/tokens/").content.decode()
    assert 'badge status-disabled">Disabled<' in body
    assert 'badge status-expired">Expired<' in body


def test_it_searches_and_filters(staff_client: Client) -> None:
    alpha, _ = make_token(name="alpha")
    make_token(name="beta", status="disabled")
    make_token(name="gamma", expires_at=timezone.now() - timedelta(hours=1))

    body = staff_client.get("/tokens/?q=alp").content.decode()
    assert "alpha" in body and "beta" not in body
    body = staff_client.get(f"/tokens/?q={alpha.prefix}").content.decode()
    assert "alpha" in body and "gamma" not in body
    body = staff_client.get("/tokens/?status=disabled").content.decode()
    assert "beta" in body and "alpha" not in body
    body = staff_client.get("/tokens/?status=expired").content.decode()
    assert "gamma" in body and "alpha" not in body
    body = staff_client.get("/tokens/?status=enabled").content.decode()
    assert "alpha" in body and "beta" not in body and "gamma" not in body
    assert "No token matches" in staff_client.get("/tokens/?q=zzz").content.decode()


def test_it_orders_by_name(staff_client: Client) -> None:
    for name in ("bravo", "alpha", "charlie"):
        make_token(name=name)
    body = staff_client.get("/tokens/?o=name").content.decode()
    assert body.index("alpha") < body.index("bravo") < body.index("charlie")
    body = staff_client.get("/tokens/?o=-name").content.decode()
    assert body.index("charlie") < body.index("bravo") < body.index("alpha")


def test_it_paginates_and_keeps_filters(staff_client: Client) -> None:
    for number in range(30):
        make_token(name=f"team-{number:02d}", group="vip")
    make_token(name="outsider")
    body = staff_client.get("/tokens/?q=team&o=name").content.decode()
    assert "team-00" in body and "team-24" in body and "team-25" not in body
    assert "Page 1 of 2" in body
    assert 'href="/tokens/?q=team&amp;o=name&amp;p=2"' in body

    body = staff_client.get("/tokens/?q=team&o=name&p=2").content.decode()
    assert "team-25" in body and "team-29" in body and "team-24" not in body
    assert "outsider" not in body


def test_an_htmx_request_gets_only_the_table(staff_client: Client) -> None:
    make_token(name="alpha")
    response = staff_client.get("/tokens/?q=alp", headers=HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="token-table"')
    assert "alpha" in body
    assert "<html" not in body
    assert "HX-Request" in response["Vary"]


def test_a_history_restore_gets_the_full_page(staff_client: Client) -> None:
    response = staff_client.get("/tokens/", headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert "<html" in response.content.decode()


def test_it_shows_the_base_url(staff_client: Client) -> None:
    body = staff_client.get("/tokens/", HTTP_HOST="gw.example.org").content.decode()
    assert 'value="http://gw.example.org/v1"' in body


def test_it_links_to_every_action_without_javascript(staff_client: Client) -> None:
    token, _ = make_token(name="alpha")
    body = staff_client.get("/tokens/").content.decode()
    assert 'href="/tokens/add/"' in body
    assert f'href="/tokens/{token.pk}/"' in body
    assert f'href="/tokens/{token.pk}/delete/"' in body
    assert f'hx-post="/tokens/{token.pk}/delete/"' in body
    assert f'action="/tokens/{token.pk}/status/"' in body


def test_it_escapes_names(staff_client: Client) -> None:
    make_token(name="<script>alert(1)</script>")
    body = staff_client.get("/tokens/").content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


@pytest.mark.parametrize(
    "query",
    [
        "q=al%00pha",
        "q=%00",
        "q=" + "a" * 101,
        "q=" + "a" * 5000,
        "o=%00",
        "o=" + "-" * 1000,
        "status=%00",
        "p=%00",
        "p=-1",
        "p=1e10",
        "p=99999999999999999999999999",
        "p=" + "9" * 5000,
        "q=%ED%A0%80",
        "p=%FF",
    ],
)
def test_odd_list_parameters_get_a_page_not_an_error(staff_client: Client, query: str) -> None:
    make_token(name="alpha")
    for headers in ({}, HTMX):
        response = staff_client.get(f"/tokens/?{query}", headers=headers)
        assert response.status_code == 200
        assert 'id="token-table"' in response.content.decode()


def test_a_search_with_a_nul_or_past_any_name_finds_nothing(staff_client: Client) -> None:
    make_token(name="alpha")
    for query in ("al%00pha", "alpha" + "a" * 100):
        assert "No token matches" in staff_client.get(f"/tokens/?q={query}").content.decode()


def test_a_page_past_the_end_shows_the_last_page(staff_client: Client) -> None:
    for number in range(30):
        make_token(name=f"team-{number:02d}")
    body = staff_client.get("/tokens/?o=name&p=99999999999999999999").content.decode()
    assert "Page 2 of 2" in body
    assert "team-29" in body


@pytest.mark.parametrize(
    "path",
    ["/tokens/9223372036854775808/", "/tokens/99999999999999999999999/delete/"],
)
def test_an_id_past_any_integer_column_is_a_404(staff_client: Client, path: str) -> None:
    assert staff_client.get(path).status_code == 404


@pytest.mark.parametrize("path", ["/tokens/abc/", "/tokens/-1/", "/tokens/1.5/"])
def test_an_id_that_is_not_a_number_is_a_404(staff_client: Client, path: str) -> None:
    assert staff_client.get(path).status_code == 404


def test_sort_headers_say_their_direction_and_keep_the_filters(staff_client: Client) -> None:
    make_token(name="alpha")
    body = staff_client.get("/tokens/?q=al&status=enabled&o=name").content.decode()
    name_header = body[body.index('<th scope="col" aria-sort="ascending">') :]
    assert name_header.index("/tokens/?q=al&amp;status=enabled&amp;o=-name") < 300
    assert 'href="/tokens/?q=al&amp;status=enabled&amp;o=used"' in body
    body = staff_client.get("/tokens/?o=-used").content.decode()
    assert 'aria-sort="descending"' in body
    assert 'href="/tokens/?o=used"' in body


def test_htmx_gets_the_tidy_address_to_show(staff_client: Client) -> None:
    response = staff_client.get("/tokens/?q=&status=&o=-created&p=1", headers=HTMX)
    assert response["HX-Push-Url"] == "/tokens/"
    response = staff_client.get("/tokens/?q=al&status=bogus&o=name&junk=1", headers=HTMX)
    assert response["HX-Push-Url"] == "/tokens/?q=al&o=name"


def test_the_full_page_varies_on_htmx_too(staff_client: Client) -> None:
    assert "HX-Request" in staff_client.get("/tokens/")["Vary"]


def test_times_are_relative_with_the_exact_time_on_hover(staff_client: Client) -> None:
    token, _ = make_token(name="alpha", expires_at=timezone.now() + timedelta(days=3, hours=1))
    Token.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - timedelta(minutes=5))
    body = staff_client.get("/tokens/").content.decode()
    assert ">in 3\xa0days</time>" in body
    assert ">5\xa0minutes ago</time>" in body
    assert body.count('<time datetime="') == 2
    assert (
        len(re.findall(r'<time datetime="[^"]+" title="\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ', body)) == 2
    )


def test_the_filter_button_speaks_chinese_like_a_chinese_admin_panel(staff_client: Client) -> None:
    body = staff_client.get("/tokens/", headers={"Accept-Language": "zh-hans"}).content.decode()
    assert '<button type="submit" class="button">筛选</button>' in body
    assert "过滤器" not in body
    assert ">管理员 API 密钥</a>" in body
