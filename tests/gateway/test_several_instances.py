"""Two gateway instances on one PostgreSQL and one Redis: what one is told, the other serves.

Each instance has a data directory of its own, as on two machines; they share the database,
Redis, SECRET_KEY and TOLLGATE_ENCRYPTION_KEY (the README's "Several instances").
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.factories import make_admin_key
from tests.support.fake_upstream import FakeUpstream
from tests.support.instances import instance_env, needs_postgresql
from tests.support.redis_server import REDIS_URL, redis_for
from tests.support.served import Served, serving

pytestmark = pytest.mark.django_db(transaction=True)
PATIENCE = 10.0


@pytest.fixture
def two_instances(settings: object, tmp_path: Path) -> Iterator[tuple[Served, Served]]:
    needs_postgresql()
    with redis_for(settings):
        env = instance_env(REDIS_URL=REDIS_URL)
        (tmp_path / "a" / "home").mkdir(parents=True)
        (tmp_path / "b" / "home").mkdir(parents=True)
        with serving(tmp_path / "a", **env) as a, serving(tmp_path / "b", **env) as b:
            yield a, b


def test_a_token_made_on_one_instance_works_through_the_other(
    two_instances: tuple[Served, Served], upstream: FakeUpstream
) -> None:
    a, b = two_instances
    admin = {"Authorization": f"Bearer {make_admin_key().key}"}
    channel = {
        "name": "shared",
        "base_url": upstream.v1,
        "key": upstream.api_key,
        "models": ["gpt-4o-mini"],
    }
    assert httpx.post(a.url + "/api/channels", json=channel, headers=admin).status_code == 201
    made = httpx.post(a.url + "/api/tokens", json={"name": "team"}, headers=admin).json()

    chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    through_b = httpx.post(
        b.url + "/v1/chat/completions",
        json=chat,
        headers={"Authorization": f"Bearer {made['key']}"},
        timeout=30,
    )

    assert through_b.status_code == 200
    assert through_b.json()["choices"][0]["message"]["content"] == "hello from upstream"
    # Disabled through B's API: A stops serving it (Redis tells it of the change).
    disabled = httpx.patch(
        b.url + f"/api/tokens/{made['id']}", json={"status": "disabled"}, headers=admin
    )
    assert disabled.status_code == 200
    deadline = time.monotonic() + PATIENCE
    while True:
        refused = httpx.post(
            a.url + "/v1/chat/completions",
            json=chat,
            headers={"Authorization": f"Bearer {made['key']}"},
            timeout=30,
        )
        if refused.status_code == 401 or time.monotonic() > deadline:
            break
    assert refused.json()["error"]["code"] == "token_disabled"
