"""The keyed hash that downstream tokens and admin keys are stored as."""

from __future__ import annotations

import hashlib
import hmac

from django.test import override_settings

from core import crypto


@override_settings(SECRET_KEY="a-secret-key-for-this-test-only-0123456789")
def test_the_keyed_hash_is_hmac_sha256_under_the_derived_key() -> None:
    # Stored hashes from every earlier version must keep matching: the digest is pinned to
    # HMAC-SHA256 of the key under a key derived from SECRET_KEY, however it is computed.
    crypto._keyed_hmac.cache_clear()
    try:
        derived = hmac.new(
            b"a-secret-key-for-this-test-only-0123456789", b"tollgate.key-hash.v1", hashlib.sha256
        ).digest()
        key = "tg-" + "a1B2" * 12
        expected = hmac.new(derived, key.encode(), hashlib.sha256).hexdigest()
        assert crypto.keyed_hash(key) == expected
    finally:
        crypto._keyed_hmac.cache_clear()


def test_another_secret_key_gives_another_hash() -> None:
    crypto._keyed_hmac.cache_clear()
    try:
        with override_settings(SECRET_KEY="one-secret-key-for-this-test-0123456789"):
            first = crypto.keyed_hash("tg-same-key")
        crypto._keyed_hmac.cache_clear()
        with override_settings(SECRET_KEY="another-secret-key-for-this-test-0123456"):
            second = crypto.keyed_hash("tg-same-key")
    finally:
        crypto._keyed_hmac.cache_clear()
    assert first != second
