"""`make bench`'s 5,000 slow streams: through one Tollgate worker, then through the floor.

The scenario's limits are absolute (first-chunk p99, delay added per chunk, memory per open
stream), so the floor's figures beside Tollgate's show what the machine allows. With
BENCH_STALLS=1 the worker also runs bench/stalls.py's watcher, and what held up its event
loop is reported.
"""

from __future__ import annotations

import asyncio
import os
import time
from contextlib import ExitStack
from pathlib import Path

from bench import slow, stalls, trace_run
from bench.client import BenchError
from bench.load import warm_up
from bench.procs import MODEL, UPSTREAM_KEY, SetupError, Started, pss_kib, rss_kib, start_floor
from bench.results import Config, Run
from bench.rounds import say
from bench.upstream import paced_model

SLOW_GAP_MS = 1000.0


def slow_settings(config: Config) -> dict[str, str]:
    """Caps lifted for the scenario: by default a channel takes 250 connections, the upstream
    pool 1,000 and a worker 4,096 clients, fewer than the streams it opens."""
    room = str(config.slow_streams + 256)
    return {
        "TOLLGATE_MAX_CONNECTIONS": room,
        "TOLLGATE_UPSTREAM_MAX_CONNECTIONS": room,
        "TOLLGATE_CHANNEL_MAX_CONNECTIONS": room,
    }


def _slow_scenario(
    port: int, authorization: str, pid: int, upstream: Started, config: Config
) -> slow.SlowResult:
    def memory() -> dict[str, int]:
        return {"pss": pss_kib(pid), "rss": rss_kib(pid)}

    return slow.run(
        slow.run_slow_streams(
            port,
            paced_model(SLOW_GAP_MS, config.slow_chunks),
            authorization,
            streams=config.slow_streams,
            chunks=config.slow_chunks,
            gap_s=SLOW_GAP_MS / 1000,
            target_pids=[pid],
            upstream_pid=upstream.pid,
            memory=memory,
            ramp_s=config.slow_ramp_s,
        )
    )


def bench_slow(
    run: Run, stack: ExitStack, work: Path, upstream: Started, upstream_port: int
) -> str:
    """The slow streams through Tollgate, then through the floor; with BENCH_STALLS=1, what
    held up Tollgate's event loop meanwhile (bench/stalls.py), else ""."""
    from bench.run import Gateway  # run.py imports this module

    config = run.config
    settings = slow_settings(config)
    run.slow_env = " ".join(f"{k}={v}" for k, v in settings.items())
    watched = os.environ.get("BENCH_STALLS", "0") not in ("", "0")
    stalls_text = ""
    if watched:
        os.environ["BENCH_STALLS_OUT"] = str(work)  # read by the watcher in the worker
    try:
        gateway = Gateway(
            stack,
            work,
            upstream_port,
            config,
            extra_env=settings,
            gunicorn_config="bench.stall_gunicorn" if watched else "gateway.gunicorn_conf",
        )
    except (SetupError, OSError) as exc:
        run.slow_error = f"the gateway did not start: {exc}"
        return stalls_text
    auth = f"Bearer {gateway.token}"
    asyncio.run(warm_up(gateway.port, MODEL, auth, 100))
    say(
        f"slow streams: {config.slow_streams:,} through one worker, {config.slow_chunks} "
        "chunks one a second"
    )
    began = time.monotonic()
    try:
        run.slow = _slow_scenario(gateway.port, auth, gateway.workers[0], upstream, config)
    except (OSError, SetupError) as exc:
        run.slow_error = str(exc)
    if watched:
        # Its own failure: the streams' figures stand whether or not the watcher answers.
        worker = gateway.workers[0]
        try:
            seen = trace_run.signalled_json(worker, work / f"stalls-{worker}.json")
        except (OSError, BenchError) as exc:
            stalls_text = f"stall watch failed: {exc}"
        else:
            stalls_text = stalls.render(seen, time.monotonic() - began)
    if gateway.master.popen.poll() is not None:
        run.slow_error += f"\n\ngunicorn exited:\n{gateway.log(15)}"
    gateway.stop()
    if os.environ.get("BENCH_SLOW_FLOOR", "1") not in ("", "0"):
        bench_slow_floor(run, work, upstream, upstream_port)
    return stalls_text


def bench_slow_floor(run: Run, work: Path, upstream: Started, upstream_port: int) -> None:
    """The same streams through a fresh floor, right after Tollgate's."""
    config = run.config
    try:
        floor, port = start_floor(work, upstream_port)
    except (SetupError, OSError) as exc:
        run.slow_floor_error = f"the floor did not start: {exc}"
        return
    auth = f"Bearer {UPSTREAM_KEY}"
    try:
        asyncio.run(warm_up(port, MODEL, auth, 100))
        say(f"slow streams: {config.slow_streams:,} through the floor")
        run.slow_floor = _slow_scenario(port, auth, floor.pid, upstream, config)
    except (OSError, SetupError, BenchError) as exc:
        run.slow_floor_error = str(exc)
    finally:
        floor.stop()
