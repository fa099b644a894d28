"""Processes the benchmark starts (fake upstream, gunicorn) and what /proc says about them."""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import resource
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
HOST = "127.0.0.1"
UPSTREAM_KEY = "sk-bench-upstream-key-0123456789"
MODEL = "bench-model"
PACED_MODEL = "bench-model-paced"  # the fake upstream paces streams whose body says "paced"

# Settings that would point the throwaway gateway at real state (a database, a cache, keys).
# TOLLGATE_* knobs pass through (so `TOLLGATE_X=1 make bench` measures with X) unless
# BENCH_CLEAN_ENV=1; these never do, the bench sets its own.
_SCRUBBED_PREFIXES = ("DJANGO_",)
_SCRUBBED = {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG"}
_BENCH_OWNED = {"TOLLGATE_DATA_DIR", "TOLLGATE_STATIC_ROOT", "TOLLGATE_HOST", "TOLLGATE_PORT",
                "TOLLGATE_WORKERS"}  # fmt: skip


class SetupError(Exception):
    pass


def cpu_seconds(pid: int) -> float:
    """CPU time of one process, all its threads, to the nanosecond: the kernel's CPU clock
    of that process (clock_getcpuclockid). /proc/<pid>/stat gives the same time in clock
    ticks (10 ms): a 3 s run of c=8 streams costs the floor about 0.2 s, so a tick either
    way moved a stream's CPU ratio by up to 10 %."""
    clock = ctypes.c_int()
    error = _LIBC.clock_getcpuclockid(pid, ctypes.byref(clock))
    if error:  # the error number itself, not -1 and errno
        raise OSError(error, f"no CPU clock for process {pid}: {os.strerror(error)}")
    return time.clock_gettime(clock.value)


def children_cpu_seconds() -> float:
    """CPU of this process's reaped children (how wrk's CPU is read around each run)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def self_cpu_seconds() -> float:
    """CPU of the benchmark's own process (the stream client)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def memory_kib(pid: int) -> dict[str, int]:
    values: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0])
    return values


def child_pids(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(p) for p in handle.read().split()]
    except FileNotFoundError:  # kernels without CONFIG_PROC_CHILDREN: scan /proc instead
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as handle:
                        stat = handle.read()
                except OSError:
                    continue
                if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                    found.append(int(entry))
        return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def gateway_overrides(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The TOLLGATE_* settings the gateway gets from the bench's caller.

    Every TOLLGATE_* variable of the bench's environment, unless BENCH_CLEAN_ENV=1, then
    those BENCH_GATEWAY_ENV names (`"TOLLGATE_X=1 TOLLGATE_Y=2"`, shell-quoted), which win.
    The ones the bench must own (data directory, bind, workers) are never taken.
    """
    environ = dict(os.environ) if environ is None else environ
    overrides: dict[str, str] = {}
    if environ.get("BENCH_CLEAN_ENV", "0") in ("", "0"):
        overrides = {k: v for k, v in environ.items() if k.startswith("TOLLGATE_")}
    for item in shlex.split(environ.get("BENCH_GATEWAY_ENV", "")):
        name, equals, value = item.partition("=")
        if not equals or not name.startswith("TOLLGATE_"):
            raise SetupError(f"BENCH_GATEWAY_ENV takes TOLLGATE_NAME=value items, not {item!r}")
        overrides[name] = value
    return {
        k: v
        for k, v in sorted(overrides.items())
        if k not in _BENCH_OWNED and not k.startswith("TOLLGATE_TEST_")  # the test suite's
    }


def gateway_env(data_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The gateway's environment: the bench's, scrubbed, with the caller's TOLLGATE_* knobs
    (gateway_overrides) and then `extra` (a scenario's own settings) on top."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _SCRUBBED
        and not key.startswith(_SCRUBBED_PREFIXES)
        and not key.startswith("TOLLGATE_")
    }
    env["TOLLGATE_LOG_LEVEL"] = "WARNING"
    env.update(gateway_overrides())
    env.update(extra or {})
    env.update(
        TOLLGATE_DATA_DIR=str(data_dir),
        TOLLGATE_STATIC_ROOT=str(data_dir / "static"),
        DJANGO_SETTINGS_MODULE="gateway.settings",
        PYTHONUNBUFFERED="1",
    )
    return env


def raise_open_files(wanted: int) -> int:
    """Lifts this process's soft RLIMIT_NOFILE toward `wanted` (children inherit it);
    returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def pss_kib(pid: int) -> int:
    """Proportional set size (shared pages split among their users), /proc/<pid>/smaps_rollup."""
    with open(f"/proc/{pid}/smaps_rollup") as handle:
        for line in handle:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    raise SetupError(f"no Pss line in /proc/{pid}/smaps_rollup")


def rss_kib(pid: int) -> int:
    return memory_kib(pid)["VmRSS"]


@dataclass
class Started:
    """A process started in its own session, so stopping it also stops its children."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM to the process, then SIGKILL to its whole session if it lingers."""
        if self.popen.poll() is not None:
            return
        # SIGTERM, not SIGINT: gunicorn 27's quick shutdown (INT/QUIT) leaves a uvicorn
        # worker running until the graceful timeout; SIGTERM stops it in a fraction of a second.
        try:
            self.popen.terminate()
            self.popen.wait(10.0)
            return
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        self.popen.wait(5.0)


def _start_printing_port(
    name: str, args: list[str], log: Path, env: dict[str, str] | None = None
) -> tuple[Started, int]:
    popen = subprocess.Popen(
        args,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=log.open("wb"),
        start_new_session=True,
        env=None if env is None else {**os.environ, **env},
    )
    started = Started(name, popen, log)
    assert popen.stdout is not None
    line = popen.stdout.readline().decode().strip()  # it prints its port when ready
    if not line.startswith("PORT "):
        started.stop()
        raise SetupError(f"the {name} did not start:\n{started.log_tail()}")
    return started, int(line.split()[1])


def start_upstream(work: Path, gap_ms: float) -> tuple[Started, int]:
    args = [sys.executable, "-m", "bench.upstream", "--key", UPSTREAM_KEY, "--gap-ms", str(gap_ms)]
    return _start_printing_port("fake upstream", args, work / "upstream.log")


def start_floor(
    work: Path,
    upstream_port: int,
    *,
    wrap: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> tuple[Started, int]:
    """The bare aiohttp pass-through (bench/floor.py) in front of the fake upstream.

    `wrap`: a command it runs under (callgrind, say); `env`: set on top of the bench's own.
    """
    base = f"http://{HOST}:{upstream_port}/v1"
    args = [*wrap, sys.executable, "-m", "bench.floor", base, UPSTREAM_KEY]
    return _start_printing_port("floor (bare aiohttp)", args, work / "floor.log", env)


def start_bare_relay(
    work: Path,
    upstream_port: int,
    kind: str,
    *,
    wrap: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> tuple[Started, int]:
    """A bare relay on Tollgate's server (bench/bare_relay.py; `kind`: httpx or aiohttp)."""
    base = f"http://{HOST}:{upstream_port}/v1"
    args = [*wrap, sys.executable, "-m", "bench.bare_relay", kind, base, UPSTREAM_KEY]
    return _start_printing_port(f"bare relay ({kind})", args, work / f"bare-{kind}.log", env)


def _run(args: list[str], env: dict[str, str], what: str) -> str:
    result = subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()
        raise SetupError(f"{what} failed:\n" + "\n".join(output[-12:]))
    return result.stdout


_CREATE = """
import json, sys
import django
django.setup()
from audit.services import SYSTEM
from channels_admin.services import channel_create
from tokens.services import token_create
from usage.services import price_set
args = json.loads(sys.argv[1])
channel_create(name="bench upstream", base_url=args["base_url"], key=args["key"],
               models=args["models"])
for model in args["models"]:
    price_set(model=model, input_per_million=1, output_per_million=2, per_request=0,
              actor=SYSTEM)
_, key = token_create(name="bench", **args["limits"])
print(json.dumps({"token": key}))
"""

# Every bench token has rate limits (the CPU target is "with auth, routing, metering and rate
# limits on"), far beyond what a run sends: each request is counted, none is refused.
RATE_LIMITED = {"rpm_limit": 1_000_000_000, "tpm_limit": 1_000_000_000}
# A reseller's token: a quota and budgets too (core.money units, never reached), so each
# request also reserves in the database before it is sent and is settled after.
SPENDING_LIMITED = {
    **RATE_LIMITED,
    "quota_limit": 10**15,
    "daily_budget": 10**15,
    "monthly_budget": 10**15,
}


def prepare_gateway_data(
    env: dict[str, str],
    upstream_port: int,
    models: list[str] | None = None,
    limits: dict[str, int] | None = None,
) -> str:
    """Migrates the throwaway database, adds one channel, prices its models and adds one
    token; returns the token key.

    `limits`: the token's rate limits, quota and budgets, in token_create's names
    (default: RATE_LIMITED).
    """
    _run([sys.executable, "manage.py", "migrate", "--noinput"], env, "manage.py migrate")
    payload = json.dumps(
        {
            "base_url": f"http://{HOST}:{upstream_port}/v1",
            "key": UPSTREAM_KEY,
            "models": models or [MODEL, PACED_MODEL],
            "limits": RATE_LIMITED if limits is None else limits,
        }
    )
    out = _run([sys.executable, "-c", _CREATE, payload], env, "creating the channel and token")
    return str(json.loads(out.strip().splitlines()[-1])["token"])


def gunicorn_command(
    port: int, *, workers: int = 1, config: str = "gateway.gunicorn_conf"
) -> list[str]:
    """The same command `make serve` runs (its config file), on the bench's port."""
    command = [
        str(BIN / "gunicorn"),
        "-c",
        f"python:{config}",
        "--workers",
        str(workers),
        "--bind",
        f"{HOST}:{port}",
    ]
    return command


def start_gateway(work: Path, env: dict[str, str], command: list[str]) -> Started:
    log = work / "gunicorn.log"
    handle = log.open("wb")
    popen = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return Started("gateway (gunicorn)", popen, log)


def worker_pids(master: Started, deadline: float, workers: int = 1) -> list[int]:
    while time.monotonic() < deadline:
        if master.popen.poll() is not None:
            raise SetupError(f"gunicorn exited:\n{master.log_tail()}")
        children = child_pids(master.pid)
        if len(children) == workers:
            return children
        time.sleep(0.05)
    raise SetupError(f"gunicorn started no {workers} worker(s) in time:\n{master.log_tail()}")


def worker_pid(master: Started, deadline: float) -> int:
    return worker_pids(master, deadline, 1)[0]
