"""The client's side of a request: its body read in full, and its leaving noticed at once.

A client that hangs up mid-answer cancels the forwarding (and with it the upstream call):
through Tollgate's own protocol (gateway/bounded_http.py) the lost connection does it
directly; under any other server a watcher task waits for ASGI's "http.disconnect".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, Protocol

from core.errors import ApiError
from gateway.bounded_http import DISCONNECT_EXTENSION, DisconnectNotice

log = logging.getLogger(__name__)


class ClientGone(Exception):
    """The client hung up before its request body arrived."""


class Answering(Protocol):
    finished: bool  # the answer's last body part went out


async def until_disconnect(
    work: Awaitable[None],
    exchange: Answering,
    scope: dict[str, Any],
    receive: Any,
    request_id: str,
) -> bool:
    """Run the forwarding; if the client goes away first, cancel it (and the upstream call).

    True when the client went away before the answer ended. The forwarding runs in this
    task; served by Tollgate's protocol (gateway/bounded_http.py), the lost connection
    cancels it directly, elsewhere a watcher task waits for "http.disconnect". A task of its
    own per request cost the relay about 10 µs of CPU and 2 KB per open stream.
    """
    task = asyncio.current_task()
    assert task is not None
    left = False

    def client_left() -> None:
        nonlocal left
        # The server reports "disconnect" once the last body part is out; that is no abort.
        if not exchange.finished and not left:
            left = True
            task.cancel()

    notice: DisconnectNotice | None = scope.get("extensions", {}).get(DISCONNECT_EXTENSION)
    watcher: asyncio.Task[None] | None = None
    if notice is not None:
        notice.callback = client_left
        if notice.lost:
            client_left()
    else:

        async def watch() -> None:
            await _disconnected(receive)
            # Only reached while the forwarding waits: once it returns, this task is
            # cancelled before it can run again.
            client_left()

        watcher = asyncio.get_running_loop().create_task(watch())
    try:
        await work
    except asyncio.CancelledError:
        # Ours, and no one else's (a server shutting down cancels too): the client left.
        if left and task.uncancel() == 0:
            log.info("client went away; upstream request cancelled (request %s)", request_id)
            return True
        raise
    finally:
        if notice is not None:
            notice.callback = None
        if watcher is not None:
            watcher.cancel()
    return False


async def _disconnected(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def read_body(receive: Any, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ApiError(
                413, f"The request body is larger than {limit} bytes.", code="request_too_large"
            )
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)
