"""`make bench`: the gateway as served in production against a fast fake upstream, on loopback.

One run, bounded in time (~1 minute with the defaults): non-streamed chat completions with
wrk at concurrency 1 and 16, then sequential 20-chunk streams, each directly against the fake
upstream and through the gateway; the gateway worker's CPU is read from /proc around every
run. Results are printed and written to bench/results/latest.md.

Environment: BENCH_SECONDS (wrk seconds per run, default 10), BENCH_STREAMS (streams per
series, default 200), BENCH_GAP_MS (pause between chunks of the paced streams, default 1),
BENCH_C16_THREADS (wrk threads at c=16, default 1: on two cores a second wrk thread only
competes with the gateway for CPU), BENCH_ACCESS_LOG (0 serves without gunicorn's access log,
which `make serve` writes), BENCH_PROFILE=1 (afterwards, samples the worker with py-spy
under c=16 load and paced streams; install it with `.venv/bin/pip install py-spy`).
"""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from bench import profile
from bench.client import BenchError, wait_until_answers
from bench.load import Watch, check_endpoints, run_streams, run_wrk, warm_up, write_wrk_script
from bench.procs import (
    HOST,
    MODEL,
    PACED_MODEL,
    ROOT,
    UPSTREAM_KEY,
    SetupError,
    Started,
    free_port,
    gateway_env,
    gunicorn_command,
    memory_kib,
    prepare_gateway_data,
    start_gateway,
    start_upstream,
    worker_pid,
)
from bench.report import Config, Side, all_met, render
from bench.upstream import STREAM_CHUNKS

RESULTS_DIR = ROOT / "bench" / "results"


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise SystemExit(f"{name} must be a number, not {raw!r}") from None
    if value < 0:
        raise SystemExit(f"{name} must not be negative")
    return value


def _interrupt(signum: int, frame: object) -> None:
    # SIGTERM ends the run through the same clean-up as Ctrl-C.
    raise KeyboardInterrupt


def _say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


async def wait_for_gateway(port: int, seconds: float) -> None:
    try:
        async with asyncio.timeout(seconds):
            await wait_until_answers(HOST, port, "/")
    except TimeoutError:
        raise BenchError(f"it did not answer on {HOST}:{port} within {seconds:.0f} s") from None


def measure(
    side: Side, port: int, authorization: str, pids: dict[str, int], work: Path, config: Config
) -> None:
    """Fills `side` run by run; the first failure is recorded and ends this side."""
    try:
        asyncio.run(check_endpoints(port, MODEL, authorization, STREAM_CHUNKS))
        asyncio.run(warm_up(port, MODEL, authorization, 200))
        script = write_wrk_script(work / f"{side.name}.lua", MODEL, authorization)
        _say(f"{side.name}: wrk -t1 -c1 for {config.seconds:g} s")
        side.c1 = run_wrk(
            port, script, threads=1, connections=1, seconds=config.seconds, watch=Watch(pids)
        )
        _say(f"{side.name}: wrk -t{config.c16_threads} -c16 for {config.seconds:g} s")
        side.c16 = run_wrk(
            port,
            script,
            threads=config.c16_threads,
            connections=16,
            seconds=config.seconds,
            watch=Watch(pids),
        )
        for result in (side.c1, side.c16):
            if result.errors:
                raise BenchError(f"wrk saw {result.errors}")
        _say(f"{side.name}: {config.streams} streams back to back, then paced")
        side.burst = asyncio.run(
            run_streams(
                port,
                MODEL,
                authorization,
                count=config.streams,
                chunks=STREAM_CHUNKS,
                watch=Watch(pids),
            )
        )
        side.paced = asyncio.run(
            run_streams(
                port,
                PACED_MODEL,
                authorization,
                count=config.streams,
                chunks=STREAM_CHUNKS,
                watch=Watch(pids),
            )
        )
    except (BenchError, OSError, TimeoutError) as exc:
        side.error = str(exc) or type(exc).__name__
        _say(f"{side.name}: FAILED: {side.error}")


def read_config() -> Config:
    return Config(
        seconds=_env_number("BENCH_SECONDS", 10),
        streams=max(1, int(_env_number("BENCH_STREAMS", 200))),
        chunks=STREAM_CHUNKS,
        gap_ms=_env_number("BENCH_GAP_MS", 1),
        c16_threads=max(1, min(16, int(_env_number("BENCH_C16_THREADS", 1)))),
        access_log=os.environ.get("BENCH_ACCESS_LOG", "1") != "0",
    )


def profile_gateway(port: int, token: str, worker: int, work: Path, config: Config) -> str:
    """Samples the worker under c=16 load and under paced streams (BENCH_PROFILE=1)."""
    authorization = f"Bearer {token}"
    script = write_wrk_script(work / "profile.lua", MODEL, authorization)
    seconds = min(config.seconds, 10)
    sections = []
    _say(f"profiling the gateway worker with py-spy: wrk c=16 for {seconds:g} s")
    summary = profile.record(
        worker,
        seconds,
        RESULTS_DIR / "profile-c16.txt",
        lambda: run_wrk(port, script, threads=1, connections=16, seconds=seconds, watch=Watch({})),
    )
    sections.append(f"non-streamed, wrk c=16 (bench/results/profile-c16.txt): {summary}")
    _say("profiling the gateway worker with py-spy: paced streams")
    streams = max(1, round(seconds * 1000 / (STREAM_CHUNKS * max(config.gap_ms, 0.05) + 2)))
    summary = profile.record(
        worker,
        seconds,
        RESULTS_DIR / "profile-streams.txt",
        lambda: asyncio.run(
            run_streams(
                port, PACED_MODEL, authorization, count=streams, chunks=STREAM_CHUNKS,
                watch=Watch({}),
            )
        ),
    )  # fmt: skip
    sections.append(f"paced streams (bench/results/profile-streams.txt): {summary}")
    return "\n\n".join(sections)


def bench_gateway(
    stack: ExitStack, work: Path, upstream: Started, upstream_port: int, config: Config
) -> tuple[Side, str]:
    gateway = Side("gateway")
    profile_text = ""
    env = gateway_env(work / "data")
    port = free_port()
    command = gunicorn_command(port, access_log=config.access_log)
    config.command = shlex.join(command).replace(str(ROOT) + "/", "")
    master = None
    try:
        token = prepare_gateway_data(env, upstream_port)
        master = start_gateway(work, env, command)
        stack.callback(master.stop)
        deadline = time.monotonic() + 60
        worker = worker_pid(master, deadline)
        asyncio.run(wait_for_gateway(port, deadline - time.monotonic()))
        _say(f"gateway on {HOST}:{port} (master {master.pid}, worker {worker})")
    except (SetupError, BenchError, OSError) as exc:
        gateway.error = f"the gateway did not start: {exc}"
        if master is not None and master.log_tail():
            gateway.error += f"\n\ngunicorn's last log lines:\n{master.log_tail(15)}"
        _say(gateway.error)
        return gateway, profile_text

    measure(gateway, port, f"Bearer {token}", {"upstream": upstream.pid, "gateway": worker},
            work, config)  # fmt: skip
    # The memory of a worker that failed to serve says nothing about the gateway.
    if master.popen.poll() is None and not gateway.error:
        gateway.memory_kib = memory_kib(worker)
    if gateway.error and master.log_tail():
        gateway.error += f"\n\ngunicorn's last log lines:\n{master.log_tail(15)}"
    if not gateway.error and os.environ.get("BENCH_PROFILE", "0") not in ("", "0"):
        try:
            profile_text = profile_gateway(port, token, worker, work, config)
        except (BenchError, OSError) as exc:
            profile_text = f"profiling failed: {exc}"
    return gateway, profile_text


def main() -> int:
    config = read_config()
    direct = Side("direct")
    signal.signal(signal.SIGTERM, _interrupt)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tollgate-bench-")))
        upstream, upstream_port = start_upstream(work, config.gap_ms)
        stack.callback(upstream.stop)
        _say(f"fake upstream on {HOST}:{upstream_port} (pid {upstream.pid})")
        pids = {"upstream": upstream.pid}
        measure(direct, upstream_port, f"Bearer {UPSTREAM_KEY}", pids, work, config)
        gateway, profile_text = bench_gateway(stack, work, upstream, upstream_port, config)

    report = render(direct, gateway, config)
    if profile_text:
        report += f"\nWhere the gateway worker's CPU went (py-spy):\n\n```\n{profile_text}\n```\n"
    print(report)
    (RESULTS_DIR / "latest.md").write_text(report)
    _say("written to bench/results/latest.md")
    _say("every target met" if all_met(direct, gateway) else "some targets not met (see above)")
    # A run that could not measure fails `make bench`; targets not met are reported, not a failure.
    return 1 if direct.error or gateway.error else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        _say("interrupted; every process it started is stopped")
        sys.exit(130)
