"""/logs/<id>/: one usage record with its whole attempt chain."""

from __future__ import annotations

from django.test import Client

from tests.support.factories import make_channel, make_token
from tests.support.pages import assert_forbidden, assert_login_redirect
from tests.usage.log_records import make_record


def url(pk: int) -> str:
    return f"/logs/{pk}/"


def test_anonymous_visitors_go_to_the_login_page(db: None) -> None:
    record = make_record()
    assert_login_redirect(Client().get(url(record.pk)), url(record.pk))


def test_non_staff_users_are_refused(plain_client: Client) -> None:
    assert_forbidden(plain_client.get(url(make_record().pk)))


def test_an_unknown_record_is_404(staff_client: Client) -> None:
    assert staff_client.get(url(424242)).status_code == 404


def test_it_shows_every_attempt_and_the_request(staff_client: Client) -> None:
    token = make_token(name="Team Blue").token
    first = make_channel(name="Flaky")
    second = make_channel(name="Steady")
    record = make_record(
        request_id="req-chain-1",
        token_id=token.pk,
        channel_id=second.pk,
        client_ip="203.0.113.9",
        endpoint="/v1/chat/completions",
        stream=True,
        estimated=True,
        attempts=[
            {
                "channel_id": first.pk,
                "status": 502,
                "error": "upstream bad gateway",
                "latency_ms": 31,
            },
            {"channel_id": 777, "status": 0, "error": "connect timeout", "latency_ms": 10000},
            {"channel_id": second.pk, "status": 200, "error": None, "latency_ms": 420},
        ],
        latency_ms=10480,
        first_byte_ms=455,
    )

    response = staff_client.get(url(record.pk))

    assert response.status_code == 200
    body = response.content.decode()
    chain = body.split('id="attempts"')[1]
    assert chain.index("Flaky") < chain.index("#777") < chain.index("Steady")
    assert "502" in chain and "upstream bad gateway" in chain and "31 ms" in chain
    assert "no answer" in chain and "connect timeout" in chain
    assert "420 ms" in chain
    assert "req-chain-1" in body and "203.0.113.9" in body and "/v1/chat/completions" in body
    assert "Streamed</dt><dd>yes" in body
    assert "estimated: the upstream did not report usage" in body
    assert "10480 ms" in body and "455 ms" in body
    assert "Team Blue" in body


def test_a_request_answered_by_the_gateway_itself_says_so(staff_client: Client) -> None:
    record = make_record(status=429, attempts=[], error="rate limit reached")
    body = staff_client.get(url(record.pk)).content.decode()
    assert "No channel was tried" in body and "rate limit reached" in body


def test_back_returns_to_the_filtered_list_only(staff_client: Client) -> None:
    record = make_record()
    body = staff_client.get(url(record.pk), {"back": "/logs/?token=3"}).content.decode()
    assert 'class="button link-button" href="/logs/?token=3"' in body
    body = staff_client.get(url(record.pk), {"back": "https://evil.example/"}).content.decode()
    assert 'class="button link-button" href="/logs/"' in body


def test_the_detail_reads_in_chinese(staff_client: Client) -> None:
    record = make_record(attempts=[{"channel_id": 1, "status": 200, "latency_ms": 5}])
    body = staff_client.get(url(record.pk), headers={"Accept-Language": "zh-hans"}).content
    text = body.decode()
    assert "请求 ID" in text and "首字时间" in text and "尝试" in text
