"""The relay's one token check (`TokenKeys.authenticate`), called directly.

Through the whole gateway, tests/gateway/relay/test_auth.py shows the same refusals as HTTP
answers.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from core.errors import ApiError
from gateway.relay.token_check import TokenKeys
from tests.support.factories import make_token
from tests.support.relay_tokens import relay_refusal, relay_token

pytestmark = pytest.mark.django_db


def test_each_key_finds_its_own_token() -> None:
    alice, alice_key = make_token(name="Alice", group="vip")
    bob, bob_key = make_token(name="Bob")

    assert relay_token(alice_key).id == alice.pk
    assert relay_token(alice_key).group == "vip"
    assert relay_token(bob_key).id == bob.pk


def test_only_the_whole_key_is_accepted() -> None:
    _, key = make_token(name="Alice")
    last = "a" if key[-1] != "a" else "b"

    assert relay_refusal(key[:-1] + last) == "invalid_api_key"  # same prefix: the hash decides
    assert relay_refusal(key[:11]) == "invalid_api_key"
    assert relay_refusal(key + "x") == "invalid_api_key"
    assert relay_refusal("") == "invalid_api_key"
    assert relay_refusal("tga-" + key[3:]) == "invalid_api_key"


def test_a_missing_key_is_refused_as_missing() -> None:
    with pytest.raises(ApiError) as refused:
        async_to_sync(TokenKeys().authenticate)(None, "127.0.0.1")

    assert (refused.value.status, refused.value.code) == (401, "invalid_api_key")
    assert "Missing API key" in refused.value.message


def test_a_disabled_token_is_refused() -> None:
    _, key = make_token(name="Alice", status="disabled")

    assert relay_refusal(key) == "token_disabled"


def test_a_token_is_refused_from_the_moment_it_expires() -> None:
    expires = timezone.now() + timedelta(hours=1)
    _, key = make_token(name="Alice", expires_at=expires)

    def check_at(when: float) -> str | None:
        try:
            async_to_sync(TokenKeys(clock=lambda: when).authenticate)(key, "127.0.0.1")
        except ApiError as refused:
            return refused.code
        return None

    assert check_at(expires.timestamp() - 1) is None
    assert check_at(expires.timestamp()) == "token_expired"
    assert relay_refusal(key) is None  # an hour to go


@pytest.mark.parametrize(
    ("client_ip", "refusal"),
    [
        ("10.1.2.3", None),
        ("::ffff:10.1.2.3", None),  # an IPv4 client seen through an IPv6 socket
        ("127.0.0.1", "ip_not_allowed"),
        ("not an address", "ip_not_allowed"),
        (None, "ip_not_allowed"),
    ],
)
def test_allowed_ips_are_checked(client_ip: str | None, refusal: str | None) -> None:
    _, key = make_token(name="Alice", allowed_ips=["10.0.0.0/8"])

    assert relay_refusal(key, client_ip) == refusal


def test_what_a_key_resolves_to_is_remembered_until_forgotten(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    _, key = make_token(name="Alice")
    unknown = "sk-" + "x" * 48
    keys = TokenKeys()
    authenticate = async_to_sync(keys.authenticate)

    with django_assert_num_queries(2):
        authenticate(key, None)
        with pytest.raises(ApiError):
            authenticate(unknown, None)
    with django_assert_num_queries(0):
        authenticate(key, None)
        with pytest.raises(ApiError):
            authenticate(unknown, None)

    keys.forget()  # what the relay does when an admin change reloads its table
    with django_assert_num_queries(1):
        authenticate(key, None)
