"""The floor for a Python relay: a bare aiohttp + uvloop pass-through, no auth, no routing.

The same relay as ../shared/peers/rawproxy (the peer bench's floor), carried here so
`make bench` needs nothing outside the project: POST /v1/<path> and GET /v1/models go to one
upstream with one key, streams relayed chunk by chunk as they arrive. Whatever Tollgate does
beyond this (auth, routing, metering, rate limits) is what its ratio to the floor measures.

Run as `python -m bench.floor UPSTREAM_BASE KEY`; it binds a free port on 127.0.0.1 and
prints `PORT <n>` on stdout when it is ready.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import aiohttp
from aiohttp import web

PASS_HEADERS = ("content-type", "accept")


def make_app(upstream: str, key: str) -> web.Application:
    app = web.Application()
    sessions: list[aiohttp.ClientSession] = []

    async def start(_app: web.Application) -> None:
        # As many upstream connections as the slow-stream scenario opens.
        sessions.append(aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)))

    async def stop(_app: web.Application) -> None:
        for session in sessions:
            await session.close()

    async def relay(request: web.Request) -> web.StreamResponse:
        session = sessions[0]
        headers = {h: request.headers[h] for h in PASS_HEADERS if h in request.headers}
        headers["Authorization"] = f"Bearer {key}"
        body = await request.read()
        url = upstream + request.path[len("/v1") :]
        async with session.request(request.method, url, data=body or None, headers=headers) as up:
            content_type = up.headers.get("Content-Type", "application/json")
            if not content_type.startswith("text/event-stream"):
                return web.Response(
                    status=up.status, body=await up.read(), headers={"Content-Type": content_type}
                )
            out = web.StreamResponse(status=up.status, headers={"Content-Type": content_type})
            await out.prepare(request)
            async for chunk in up.content.iter_any():
                await out.write(chunk)
            await out.write_eof()
            return out

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_route("*", "/v1/{tail:.*}", relay)
    return app


async def serve(upstream: str, key: str) -> None:
    runner = web.AppRunner(make_app(upstream.rstrip("/"), key), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=8192)
    await site.start()
    print(f"PORT {runner.addresses[0][1]}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("upstream")
    parser.add_argument("key")
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args.upstream, args.key))
    else:
        uvloop.run(serve(args.upstream, args.key))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
