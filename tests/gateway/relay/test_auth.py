"""Every way a request is refused before it reaches an upstream."""

from __future__ import annotations

from datetime import timedelta

import httpx
import openai
import pytest
from django.utils import timezone

from gateway.asgi import build_application
from gateway.relay.app import RelayApp
from gateway.relay.cache import RelayCache
from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream
from tests.support.live_gateway import Gateway
from tests.support.servers import serve_asgi
from tokens.models import Token


def chat(gateway: Gateway, key: str, model: str = "gpt-4o-mini") -> None:
    gateway.client(key).chat.completions.create(
        model=model, messages=[{"role": "user", "content": "hi"}]
    )


def assert_openai_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code
    assert error["message"]


def test_it_rejects_a_missing_key(gateway: Gateway, upstream: FakeUpstream) -> None:
    make_channel(upstream)

    response = httpx.post(gateway.v1 + "/chat/completions", json={"model": "gpt-4o-mini"})

    assert_openai_error(response, 401, "invalid_api_key")
    assert response.json()["error"]["type"] == "authentication_error"
    assert upstream.requests == []


def test_it_rejects_an_unknown_key(gateway: Gateway, upstream: FakeUpstream) -> None:
    make_channel(upstream)
    make_token()
    unknown = "sk-" + "x" * 48

    with pytest.raises(openai.AuthenticationError) as raised:
        chat(gateway, unknown)

    assert raised.value.code == "invalid_api_key"
    assert unknown not in str(raised.value.body)
    assert upstream.requests == []


def test_it_rejects_a_disabled_token(gateway: Gateway, upstream: FakeUpstream) -> None:
    make_channel(upstream)
    key = make_token(status="disabled").key

    with pytest.raises(openai.AuthenticationError) as raised:
        chat(gateway, key)

    assert raised.value.code == "token_disabled"


def test_it_rejects_an_expired_token(gateway: Gateway, upstream: FakeUpstream) -> None:
    make_channel(upstream)
    key = make_token(expires_at=timezone.now() - timedelta(minutes=1)).key

    with pytest.raises(openai.AuthenticationError) as raised:
        chat(gateway, key)

    assert raised.value.code == "token_expired"


def test_a_token_that_expires_later_works(gateway: Gateway, upstream: FakeUpstream) -> None:
    make_channel(upstream)
    key = make_token(expires_at=timezone.now() + timedelta(days=1)).key

    chat(gateway, key)

    assert len(upstream.requests) == 1


def test_it_refuses_a_model_the_token_may_not_use(gateway: Gateway, upstream: FakeUpstream) -> None:
    make_channel(upstream, models=["gpt-4o-mini", "gpt-4o"])
    key = make_token(models=["gpt-4o-mini"]).key

    with pytest.raises(openai.PermissionDeniedError) as raised:
        chat(gateway, key, model="gpt-4o")

    assert raised.value.code == "model_not_allowed"
    chat(gateway, key, model="gpt-4o-mini")
    assert [r.json()["model"] for r in upstream.requests] == ["gpt-4o-mini"]


def test_it_refuses_a_client_outside_the_allowed_addresses(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    make_channel(upstream)
    elsewhere = make_token(allowed_ips=["10.1.0.0/16"]).key
    loopback = make_token(allowed_ips=["127.0.0.0/8"]).key

    with pytest.raises(openai.PermissionDeniedError) as raised:
        chat(gateway, elsewhere)
    chat(gateway, loopback)

    assert raised.value.code == "ip_not_allowed"
    assert len(upstream.requests) == 1


def test_forwarded_for_counts_only_from_a_trusted_proxy(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    make_channel(upstream)
    key = make_token(allowed_ips=["203.0.113.7"]).key
    spoofed = {"Authorization": f"Bearer {key}", "X-Forwarded-For": "203.0.113.7"}
    body = {"model": "gpt-4o-mini", "messages": []}
    untrusting = build_application(gateway.relay)

    # The fixture's server trusts 127.0.0.1 as a proxy (uvicorn's default): the header counts.
    trusted = httpx.post(gateway.v1 + "/chat/completions", headers=spoofed, json=body)
    with serve_asgi(untrusting, forwarded_allow_ips="", lifespan="on") as url:
        refused = httpx.post(url + "/v1/chat/completions", headers=spoofed, json=body)

    assert trusted.status_code == 200
    assert_openai_error(refused, 403, "ip_not_allowed")


def test_an_unknown_model_is_404(gateway: Gateway, upstream: FakeUpstream) -> None:
    make_channel(upstream)
    key = make_token().key

    with pytest.raises(openai.NotFoundError) as raised:
        chat(gateway, key, model="no-such-model")

    assert raised.value.code == "model_not_found"
    assert upstream.requests == []


def test_a_model_only_disabled_channels_serve_is_503(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    make_channel(upstream, status="disabled")
    key = make_token().key

    response = gateway.post_chat(key)

    assert_openai_error(response, 503, "no_available_channel")
    assert upstream.requests == []


def test_groups_are_isolated(
    gateway: Gateway, upstream: FakeUpstream, second_upstream: FakeUpstream
) -> None:
    make_channel(upstream, groups=["default"])
    make_channel(second_upstream, groups=["vip"], models=["gpt-4o-mini", "vip-only"])
    default_key = make_token().key
    vip_key = make_token(group="vip").key

    for _ in range(5):
        chat(gateway, default_key)
        chat(gateway, vip_key)
    with pytest.raises(openai.NotFoundError):
        chat(gateway, default_key, model="vip-only")

    assert len(upstream.requests) == 5
    assert len(second_upstream.requests) == 5


@pytest.mark.parametrize(
    ("body", "content_type", "code"),
    [
        (b"{not json", "application/json", "invalid_json"),
        (b"[1, 2]", "application/json", "invalid_json"),
        (b'{"messages": []}', "application/json", "missing_model"),
        (b'{"model": 5}', "application/json", "invalid_model"),
        (b"model=gpt-4o-mini", "application/x-www-form-urlencoded", "unsupported_content_type"),
    ],
)
def test_it_rejects_a_bad_body(
    gateway: Gateway, upstream: FakeUpstream, body: bytes, content_type: str, code: str
) -> None:
    make_channel(upstream)
    key = make_token().key

    response = httpx.post(
        gateway.v1 + "/chat/completions",
        headers={"Authorization": f"Bearer {key}", "Content-Type": content_type},
        content=body,
    )

    assert_openai_error(response, 400, code)
    assert upstream.requests == []


def test_it_rejects_a_body_over_the_limit(
    gateway: Gateway, upstream: FakeUpstream, settings: object
) -> None:
    make_channel(upstream)
    key = make_token().key
    settings.MAX_REQUEST_BYTES = 1024  # type: ignore[attr-defined]

    response = gateway.post_chat(key, messages=[{"role": "user", "content": "x" * 2000}])

    assert_openai_error(response, 413, "request_too_large")


def test_an_unknown_get_url_is_404(gateway: Gateway, upstream: FakeUpstream) -> None:
    key = make_token().key

    response = httpx.get(gateway.v1 + "/files", headers={"Authorization": f"Bearer {key}"})

    assert_openai_error(response, 404, "unknown_url")


def test_a_token_change_is_seen_by_the_next_request(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    from tokens.services import token_update

    make_channel(upstream)
    key = make_token().key
    chat(gateway, key)

    token_update(token=Token.objects.get(), changes={"status": "disabled"})

    with pytest.raises(openai.AuthenticationError):
        chat(gateway, key)


@pytest.mark.django_db(transaction=True)
def test_it_records_when_a_token_was_last_used(upstream: FakeUpstream) -> None:
    make_channel(upstream)
    key = make_token().key
    assert Token.objects.get().last_used_at is None
    relay = RelayApp(cache=RelayCache(refresh_seconds=0))

    with serve_asgi(build_application(relay), lifespan="on") as url:
        Gateway(url=url, relay=relay).client(key).models.list()
    # Written in batches off the request path; stopping the server writes what is pending.

    assert Token.objects.get().last_used_at is not None
