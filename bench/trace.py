"""Optional (BENCH_TRACE=1): where a c=1 stream's first chunk spends its time, stage by stage,
inside Tollgate's worker and inside the floor.

Both processes are started with hooks (bench/trace_gunicorn.py, bench/trace_floor.py) that
note, per request, the first moment each point is reached: the request's bytes arriving, the
upstream call beginning, its bytes written, the upstream's answer arriving, the first chunk
written to the client (and for Tollgate, the steps of its own work in between). The hooks wrap
library internals (uvicorn's and aiohttp's protocols, httpx-aiohttp's transport), so a library
upgrade can move them: a point never reached is reported, not guessed. SIGUSR2 makes the
process write what it noted as JSON to BENCH_TRACE_OUT's directory.

The wrappers cost a little themselves, more on Tollgate's side (more points): read the table
for where the time goes, not as a second measurement of the ratio.
"""

from __future__ import annotations

import inspect
import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

# Points in the order a request reaches them. The floor has the shared ones only.
REQUEST = "request"  # the request's first bytes read by the server
CALL = "call"  # the upstream call begins (httpx's transport; the floor: aiohttp's session)
WRITTEN = "written"  # the upstream request's bytes handed to the socket
ANSWER = "answer"  # the upstream's first answer bytes read
OUT = "out"  # the first body bytes (with the head) written to the client
SHARED = (REQUEST, CALL, WRITTEN, ANSWER, OUT)

Rows = list[dict[str, int]]  # per request: point -> when it was reached (ns)

# Tollgate's own steps before the call: (point, what the stage ending there is).
TOLLGATE_STEPS = (
    ("app", "server: request parsed, ASGI app called (uvicorn)"),
    ("auth<", "request id, path and hop checks, relay cache still fresh"),
    ("auth", "token check (keyed hash, cached record)"),
    ("parse", "body read and parsed"),
    ("plan<", "stream usage asked, rate limits, quota, route picked"),
    ("plan", "upstream request planned (URL, headers, body)"),
)

SHARED_STAGES = (
    (REQUEST, CALL, "request in → upstream call begins (the relay's own work)"),
    (CALL, WRITTEN, "upstream call → request written (client library)"),
    (WRITTEN, ANSWER, "request written → answer read (upstream and loopback)"),
    (ANSWER, OUT, "answer read → first chunk written to the client"),
    (REQUEST, OUT, "in all: request in → first chunk out"),
)


class Marks:
    """The points one process reached, per request: one request at a time (c=1)."""

    def __init__(self, clock: Callable[[], int] = time.perf_counter_ns) -> None:
        self.clock = clock
        self.current: dict[str, int] = {}
        self.rows: list[dict[str, int]] = []

    def begin(self) -> None:
        if REQUEST in self.current:
            self.rows.append(self.current)
        self.current = {REQUEST: self.clock()}

    def mark(self, point: str) -> None:
        if REQUEST in self.current and point not in self.current:
            self.current[point] = self.clock()

    def dump(self, directory: Path) -> Path:
        path = directory / f"trace-{os.getpid()}.json"
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps([*self.rows, self.current]))
        partial.replace(path)  # whole or not there: the bench reads it once it appears
        return path


def is_request(data: bytes) -> bool:
    return data[:8] == b"POST /v1"


def _nothing() -> None:
    pass


def wrap(
    holder: Any, name: str, before: Callable[[], None], after: Callable[[], None] = _nothing
) -> None:
    """`holder.name` calls `before()` first and `after()` once it has returned, whether it is
    a function or a coroutine function."""
    original = getattr(holder, name)
    if inspect.iscoroutinefunction(original):

        async def wrapped_async(*args: Any, **kwargs: Any) -> Any:
            before()
            result = await original(*args, **kwargs)
            after()
            return result

        setattr(holder, name, wrapped_async)
    else:

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            before()
            result = original(*args, **kwargs)
            after()
            return result

        setattr(holder, name, wrapped)


def around(holder: Any, name: str, marks: Marks, point: str) -> None:
    """Marks `point + "<"` on entry to `holder.name` and `point` once it has returned."""
    wrap(holder, name, lambda: marks.mark(point + "<"), lambda: marks.mark(point))


def hook_client_side(marks: Marks) -> None:
    """aiohttp's client, under both: its request bytes written, its answer's bytes read."""
    from aiohttp import client_proto, http_writer

    def on_write(name: str) -> None:
        original = getattr(http_writer.StreamWriter, name)

        def write(self: Any, data: Any) -> Any:
            is_client = isinstance(self.protocol, client_proto.ResponseHandler)
            marks.mark(WRITTEN if is_client else OUT)
            return original(self, data)

        setattr(http_writer.StreamWriter, name, write)

    on_write("_write")
    on_write("_writelines")
    wrap(client_proto.ResponseHandler, "data_received", lambda: marks.mark(ANSWER))


def begin_on_request(server_protocol: Any, marks: Marks) -> None:
    """A new request begins where the server's protocol reads a request line."""
    original = server_protocol.data_received

    def data_received(self: Any, data: bytes) -> None:
        if is_request(data):
            marks.begin()
        original(self, data)

    server_protocol.data_received = data_received


def install_tollgate(marks: Marks) -> None:
    from httpx_aiohttp import transport
    from uvicorn.protocols.http import httptools_impl

    import gateway.bounded_http as bounded_http
    import gateway.relay.app as app
    import gateway.relay.forward as forward

    begin_on_request(httptools_impl.HttpToolsProtocol, marks)
    hook_client_side(marks)
    wrap(transport.AiohttpTransport, "handle_async_request", lambda: marks.mark(CALL))
    wrap(bounded_http.HeldHead, "write", lambda: marks.mark(OUT))
    wrap(app.RelayApp, "__call__", lambda: marks.mark("app"))
    around(app.RelayApp, "_authenticate", marks, "auth")
    around(app, "parse_body", marks, "parse")
    around(forward, "plan_call", marks, "plan")


def install_floor(marks: Marks) -> None:
    from aiohttp import client, web_protocol

    begin_on_request(web_protocol.RequestHandler, marks)
    hook_client_side(marks)
    wrap(client.ClientSession, "_request", lambda: marks.mark(CALL))


def medians(rows: list[dict[str, int]], stages: list[tuple[str, str]]) -> list[float | None]:
    """The median of each stage (µs) over the rows that reached both of its ends."""
    out: list[float | None] = []
    for start, end in stages:
        spans = [(r[end] - r[start]) / 1000 for r in rows if start in r and end in r]
        out.append(statistics.median(spans) if spans else None)
    return out


def complete(rows: list[dict[str, int]], last: int) -> list[dict[str, int]]:
    """The `last` rows that reached every shared point (the streams, not the warm-up)."""
    return [r for r in rows if all(p in r for p in SHARED)][-last:]


def _pause(gap: float) -> str:
    return "no pause" if not gap else f"{gap:g} ms"


@dataclass
class Traced:
    """One pause's series: what each process noted, and what the client saw (first chunk,
    median, µs) through the upstream directly, the floor and Tollgate."""

    floor: Rows
    tollgate: Rows
    client_us: tuple[float, float, float] | None = None


def render(series: dict[float, Traced], count: int) -> str:
    """One table of both processes' stages, a pair of columns per pause (ms) of the upstream
    between chunks."""
    kept = {
        gap: Traced(complete(one.floor, count), complete(one.tollgate, count), one.client_us)
        for gap, one in sorted(series.items())
    }
    short = [
        f"{_pause(gap)}: floor {len(one.floor)}, Tollgate {len(one.tollgate)}"
        for gap, one in kept.items()
        if not one.floor or not one.tollgate
    ]
    if short or not kept:
        return (
            f"stage trace: too few complete requests ({'; '.join(short)}): a hook no longer "
            "reaches its point (bench/trace.py)"
        )

    def cell(value: float | None) -> str:
        return "—" if value is None else f"{value:.0f} µs"

    shared = [(start, end) for start, end, _ in SHARED_STAGES]
    heads = [f"{who}, {_pause(gap)}" for gap in kept for who in ("floor", "Tollgate")]
    columns = [
        column
        for one in kept.values()
        for column in (medians(one.floor, shared), medians(one.tollgate, shared))
    ]
    lines = [
        f"Where a c=1 stream's first chunk goes (median of {count} streams per pause of the "
        "upstream between chunks; inside each process, then as the client saw it):",
        "",
        "| stage | " + " | ".join(heads) + " |",
        "|---|" + "---:|" * len(heads),
    ]
    for index, (_, _, label) in enumerate(SHARED_STAGES):
        lines.append(f"| {label} | " + " | ".join(cell(c[index]) for c in columns) + " |")
    added: list[float | None] = []
    for one in kept.values():
        if one.client_us is None:
            added += [None, None]
        else:
            direct, floor, tollgate = one.client_us
            added += [floor - direct, tollgate - direct]
    label = "the client: first chunk's time added to the upstream's own"
    lines.append(f"| {label} | " + " | ".join(cell(value) for value in added) + " |")
    lines += ["", "Tollgate's own work before the call, step by step:", ""]
    lines += ["| step | " + " | ".join(f"Tollgate, {_pause(gap)}" for gap in kept) + " |"]
    lines += ["|---|" + "---:|" * len(kept)]
    points = [REQUEST] + [point for point, _ in TOLLGATE_STEPS] + [CALL]
    labels = [label for _, label in TOLLGATE_STEPS] + ["the httpx request built"]
    steps = list(pairwise(points))
    step_columns = [medians(one.tollgate, steps) for one in kept.values()]
    for index, label in enumerate(labels):
        lines.append(f"| {label} | " + " | ".join(cell(c[index]) for c in step_columns) + " |")
    return "\n".join(lines)
