"""The quota holds under concurrency, on real PostgreSQL: 50 requests at once against a quota
that covers 5, through one gateway and through two gateway processes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.db import close_old_connections
from django.db.models import Sum

from core.state import bump_relay_version
from gateway.relay.recording import usage_writer
from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream
from tests.support.instances import instance_env, needs_postgresql
from tests.support.live_gateway import Gateway, serving_gateway
from tests.support.served import Served, serving
from tests.support.usage_records import FAST, PATIENCE, wait_for_records
from tokens.models import Token
from usage.models import ModelPrice, UsageRecord

pytestmark = pytest.mark.django_db(transaction=True)

DOLLAR = 10**9
REQUESTS = 50
COVERED = 5
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(autouse=True)
def on_postgresql() -> None:
    needs_postgresql()


def a_token_covering_five(upstream: FakeUpstream) -> tuple[int, str]:
    make_channel(upstream)
    ModelPrice.objects.create(model="gpt-4o-mini", per_request=DOLLAR)
    new = make_token()
    Token.objects.filter(pk=new.token.pk).update(quota_limit=COVERED * DOLLAR)
    bump_relay_version()
    return new.token.pk, new.key


async def at_once(urls: list[str], key: str) -> list[int]:
    """REQUESTS chat completions sent together, spread over `urls`; their statuses."""
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=100)) as client:
        answers = await asyncio.gather(
            *(
                client.post(
                    urls[n % len(urls)] + "/v1/chat/completions", json=BODY, headers=headers
                )
                for n in range(REQUESTS)
            )
        )
    return [answer.status_code for answer in answers]


def assert_never_overdrawn(token_id: int, statuses: list[int]) -> None:
    assert sorted(set(statuses)) == [200, 429]
    assert statuses.count(200) == COVERED
    records = wait_for_records(REQUESTS)
    deadline = time.monotonic() + PATIENCE
    while True:
        close_old_connections()
        token = Token.objects.get(pk=token_id)
        if token.quota_reserved == 0 or time.monotonic() > deadline:
            break
    billed = UsageRecord.objects.aggregate(total=Sum("cost"))["total"]
    assert token.quota_limit is not None
    assert (token.quota_used, token.quota_reserved) == (COVERED * DOLLAR, 0)
    assert token.quota_limit - token.quota_used >= 0
    assert billed == token.quota_used
    assert sorted(record.status for record in records) == sorted(statuses)


@pytest.fixture
def metered() -> Iterator[Gateway]:
    with serving_gateway(usage=usage_writer(**FAST)) as gateway:
        yield gateway


def test_fifty_at_once_through_one_gateway(metered: Gateway, upstream: FakeUpstream) -> None:
    token_id, key = a_token_covering_five(upstream)

    statuses = asyncio.run(at_once([metered.url], key))

    assert_never_overdrawn(token_id, statuses)


def test_fifty_at_once_through_two_gateway_processes(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    token_id, key = a_token_covering_five(upstream)
    (tmp_path / "home").mkdir()
    servers: list[Served] = []
    with (
        serving(tmp_path, **instance_env()) as first,
        serving(tmp_path, **instance_env()) as second,
    ):
        servers = [first, second]
        statuses = asyncio.run(at_once([first.url, second.url], key))
        assert_never_overdrawn(token_id, statuses)
    logs = "".join(server.log_path.read_text(errors="replace") for server in servers)
    assert "Traceback" not in logs
