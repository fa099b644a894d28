from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def _switch(client: Client, language: str, next_url: str = "/") -> None:
    response = client.post("/i18n/", {"language": language, "next": next_url})
    assert response.status_code == 302
    assert response["Location"] == next_url


def test_the_layout_offers_both_languages(staff_client: Client) -> None:
    body = staff_client.get("/").content.decode()
    assert 'action="/i18n/"' in body
    assert 'value="en"' in body
    assert 'value="zh-hans"' in body
    assert "简体中文" in body


def test_switching_to_chinese_translates_the_nav(staff_client: Client) -> None:
    _switch(staff_client, "zh-hans", "/tokens/")
    body = staff_client.get("/tokens/").content.decode()
    assert '<html lang="zh-hans">' in body
    assert ">渠道</a>" in body
    assert ">令牌</a>" in body
    assert "数据看板" in body
    assert "退出" in body
    assert ">Channels</a>" not in body


def test_switching_back_to_english(staff_client: Client) -> None:
    _switch(staff_client, "zh-hans")
    _switch(staff_client, "en")
    body = staff_client.get("/").content.decode()
    assert ">Channels</a>" in body
    assert ">Tokens</a>" in body


def test_the_login_page_is_translated_too() -> None:
    client = Client()
    _switch(client, "zh-hans", "/login/")
    body = client.get("/login/").content.decode()
    assert "登录" in body


def test_the_token_pages_are_translated(staff_client: Client) -> None:
    _switch(staff_client, "zh-hans")
    body = staff_client.get("/tokens/add/").content.decode()
    assert "分组" in body
    assert "创建令牌" in body


def test_it_ignores_an_offsite_next(staff_client: Client) -> None:
    response = staff_client.post("/i18n/", {"language": "zh-hans", "next": "https://evil.test/"})
    assert response["Location"] == "/"
