"""A client that leaves cancels the forwarding, whether the server tells it through Tollgate's
protocol (a DisconnectNotice in the scope) or only through ASGI's "http.disconnect"."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.bounded_http import DISCONNECT_EXTENSION, DisconnectNotice
from gateway.relay.client_side import until_disconnect


class _Exchange:
    finished = False  # the answer's last body part went out


class _Client:
    """ASGI's receive(): the body was read already; "http.disconnect" once `leave()`."""

    def __init__(self) -> None:
        self.gone = asyncio.Event()

    async def receive(self) -> dict[str, Any]:
        await self.gone.wait()
        return {"type": "http.disconnect"}


async def _forwarding_until_cancelled(cancelled: list[bool]) -> None:
    try:
        await asyncio.Event().wait()  # an upstream that never answers
    except asyncio.CancelledError:
        cancelled.append(True)
        raise


def test_a_lost_connection_cancels_the_forwarding_through_the_notice() -> None:
    async def scenario() -> tuple[bool, list[bool]]:
        notice = DisconnectNotice()
        cancelled: list[bool] = []
        scope = {"extensions": {DISCONNECT_EXTENSION: notice}}
        running = asyncio.ensure_future(
            until_disconnect(
                _forwarding_until_cancelled(cancelled), _Exchange(), scope, _Client().receive, "r"
            )
        )
        await asyncio.sleep(0)
        notice.connection_lost()
        return await running, cancelled

    left, cancelled = asyncio.run(scenario())

    assert left is True
    assert cancelled == [True]


def test_a_connection_lost_before_the_forwarding_began_still_counts() -> None:
    async def scenario() -> bool:
        notice = DisconnectNotice()
        notice.connection_lost()  # gone while the request was being checked
        scope = {"extensions": {DISCONNECT_EXTENSION: notice}}
        return await until_disconnect(
            _forwarding_until_cancelled([]), _Exchange(), scope, _Client().receive, "r"
        )

    assert asyncio.run(scenario()) is True


def test_without_the_notice_http_disconnect_cancels_the_forwarding() -> None:
    async def scenario() -> tuple[bool, list[bool]]:
        client = _Client()
        cancelled: list[bool] = []
        running = asyncio.ensure_future(
            until_disconnect(
                _forwarding_until_cancelled(cancelled), _Exchange(), {}, client.receive, "r"
            )
        )
        await asyncio.sleep(0)
        client.gone.set()
        return await running, cancelled

    left, cancelled = asyncio.run(scenario())

    assert left is True
    assert cancelled == [True]


def test_leaving_after_the_answer_ended_is_no_abort() -> None:
    async def scenario() -> bool:
        notice = DisconnectNotice()
        exchange = _Exchange()
        scope = {"extensions": {DISCONNECT_EXTENSION: notice}}

        async def answered() -> None:
            exchange.finished = True  # the last body part went out
            notice.connection_lost()  # and then the client hung up
            await asyncio.sleep(0)

        return await until_disconnect(answered(), exchange, scope, _Client().receive, "r")

    assert asyncio.run(scenario()) is False


def test_a_shutdown_cancellation_is_not_taken_for_a_client_leaving() -> None:
    async def scenario() -> None:
        notice = DisconnectNotice()
        scope = {"extensions": {DISCONNECT_EXTENSION: notice}}
        running = asyncio.ensure_future(
            until_disconnect(
                _forwarding_until_cancelled([]), _Exchange(), scope, _Client().receive, "r"
            )
        )
        await asyncio.sleep(0)
        running.cancel()  # the server stopping
        await running

    try:
        asyncio.run(scenario())
    except asyncio.CancelledError:
        return
    raise AssertionError("the cancellation was swallowed")
