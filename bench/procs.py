"""Processes the benchmark starts (fake upstream, gunicorn) and what /proc says about them."""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
HOST = "127.0.0.1"
UPSTREAM_KEY = "sk-bench-upstream-key-0123456789"
MODEL = "bench-model"
PACED_MODEL = "bench-model-paced"  # the fake upstream paces streams whose body says "paced"

# Settings that would point the throwaway gateway at real state (a database, a cache, keys).
_SCRUBBED_PREFIXES = ("TOLLGATE_", "DJANGO_")
_SCRUBBED = {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG"}


class SetupError(Exception):
    pass


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as handle:
        stat = handle.read()
    # The command name may hold spaces; fields after its closing parenthesis are fixed.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


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


def gateway_env(data_dir: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _SCRUBBED and not key.startswith(_SCRUBBED_PREFIXES)
    }
    env.update(
        TOLLGATE_DATA_DIR=str(data_dir),
        TOLLGATE_STATIC_ROOT=str(data_dir / "static"),
        TOLLGATE_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="gateway.settings",
        PYTHONUNBUFFERED="1",
    )
    return env


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


def start_upstream(work: Path, gap_ms: float) -> tuple[Started, int]:
    log = work / "upstream.log"
    popen = subprocess.Popen(
        [sys.executable, "-m", "bench.upstream", "--key", UPSTREAM_KEY, "--gap-ms", str(gap_ms)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=log.open("wb"),
        start_new_session=True,
    )
    started = Started("fake upstream", popen, log)
    assert popen.stdout is not None
    line = popen.stdout.readline().decode().strip()  # the upstream prints its port when ready
    if not line.startswith("PORT "):
        started.stop()
        raise SetupError(f"the fake upstream did not start:\n{started.log_tail()}")
    return started, int(line.split()[1])


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
from channels_admin.services import channel_create
from tokens.services import token_create
args = json.loads(sys.argv[1])
channel_create(name="bench upstream", base_url=args["base_url"], key=args["key"],
               models=args["models"])
_, key = token_create(name="bench")
print(json.dumps({"token": key}))
"""


def prepare_gateway_data(env: dict[str, str], upstream_port: int) -> str:
    """Migrates the throwaway database, adds one channel and one token; returns the token key."""
    _run([sys.executable, "manage.py", "migrate", "--noinput"], env, "manage.py migrate")
    payload = json.dumps(
        {
            "base_url": f"http://{HOST}:{upstream_port}/v1",
            "key": UPSTREAM_KEY,
            "models": [MODEL, PACED_MODEL],
        }
    )
    out = _run([sys.executable, "-c", _CREATE, payload], env, "creating the channel and token")
    return str(json.loads(out.strip().splitlines()[-1])["token"])


def gunicorn_command(port: int, *, access_log: bool = True) -> list[str]:
    """The same command `make serve` runs (its config file), one worker on the bench's port."""
    command = [
        str(BIN / "gunicorn"),
        "-c",
        "python:gateway.gunicorn_conf",
        "--workers",
        "1",
        "--bind",
        f"{HOST}:{port}",
    ]
    if not access_log:
        command += ["--access-logfile", "/dev/null"]
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


def worker_pid(master: Started, deadline: float) -> int:
    while time.monotonic() < deadline:
        if master.popen.poll() is not None:
            raise SetupError(f"gunicorn exited:\n{master.log_tail()}")
        children = child_pids(master.pid)
        if len(children) == 1:
            return children[0]
        time.sleep(0.05)
    raise SetupError(f"gunicorn started no worker in time:\n{master.log_tail()}")
