"""tokens.services: keyed-hash storage, lookups and telling the relay."""

from __future__ import annotations

import hashlib

import pytest

from core.crypto import keyed_hash
from core.state import read_db_version
from tests.support.relay_tokens import relay_refusal
from tokens.api import token_as_dict
from tokens.models import ADMIN_KEY_PREFIX_LENGTH, AdminKey, Token
from tokens.services import (
    admin_key_create,
    admin_key_find,
    admin_key_revoke,
    token_create,
    token_delete,
    token_update,
)

# --- tokens in the database --------------------------------------------------------------


@pytest.mark.django_db
def test_a_token_key_is_stored_only_as_a_keyed_hash() -> None:
    token, key = token_create(name="Alice")
    assert key.startswith("sk-") and len(key) == 51
    row = Token.objects.values().get(pk=token.pk)
    assert all(key not in str(value) for value in row.values())
    assert all(key[11:] not in str(value) for value in row.values())
    assert row["prefix"] == key[:11]
    assert row["key_hash"] == keyed_hash(key)
    # Keyed: a plain digest of the key, which anyone could compute, is not what is stored.
    assert row["key_hash"] != hashlib.sha256(key.encode()).hexdigest()
    assert token_as_dict(token)["prefix"] == key[:11] + "…"
    assert key not in repr(token_as_dict(token))


@pytest.mark.django_db
def test_each_token_gets_its_own_key() -> None:
    keys = {token_create(name=f"t{i}")[1] for i in range(5)}
    assert len(keys) == 5


@pytest.mark.django_db
def test_update_and_delete_tell_the_relay() -> None:
    token, key = token_create(name="Alice")
    seen = [read_db_version()]
    token_update(token=token, changes={"status": "disabled"})
    seen.append(read_db_version())
    assert Token.objects.get().status == "disabled"
    assert relay_refusal(key) == "token_disabled"
    token_delete(token=token)
    seen.append(read_db_version())
    assert relay_refusal(key) == "invalid_api_key"
    assert seen == sorted(set(seen))  # each write moved it on


# --- admin keys --------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_keys_are_stored_as_keyed_hashes() -> None:
    admin_key, key = admin_key_create(name="ci")
    assert admin_key.name == "ci"
    assert key.startswith("tga-") and len(key) == 44
    row = AdminKey.objects.values().get()
    assert all(key not in str(value) for value in row.values())
    assert row["key_hash"] == keyed_hash(key)
    assert admin_key_find(key) == admin_key
    assert admin_key_find(key[:-1] + ("a" if key[-1] != "a" else "b")) is None
    assert admin_key_find("sk-" + key[4:]) is None


@pytest.mark.django_db
def test_a_downstream_token_is_not_an_admin_key() -> None:
    admin_key, key = admin_key_create(name="ci")
    _, token_key = token_create(name="Alice")
    # Even an admin-key row holding this token's hash and prefix does not make it one.
    AdminKey.objects.create(
        name="shadow", prefix=token_key[:ADMIN_KEY_PREFIX_LENGTH], key_hash=keyed_hash(token_key)
    )
    assert admin_key_find(key) == admin_key
    assert admin_key_find(token_key) is None


@pytest.mark.django_db
def test_a_revoked_admin_key_is_not_found() -> None:
    admin_key, key = admin_key_create(name="ci")
    admin_key_revoke(admin_key=admin_key)
    assert admin_key_find(key) is None
