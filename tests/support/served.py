"""Tollgate served as `make serve` serves it (gunicorn, gateway.gunicorn_conf), for a test.

A throwaway site (SQLite, static files, an admin) is prepared once in a temporary data
directory, in a subprocess; each test starts its own gunicorn on it. The listening socket is
made here and handed to gunicorn (`--bind fd://N`), so there is no port to guess and no
waiting on a timer: a request sent before the worker is up waits in the kernel's queue.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import count
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"
ADMIN_USER = "alice"
ADMIN_PASSWORD = "a long admin password for tests"
_runs = count()

_PREPARE = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
call_command("collectstatic", interactive=False, verbosity=0)
call_command("ensure_admin")
"""


def site_env(site: Path, **overrides: str) -> dict[str, str]:
    """The environment of a server on `site`: nothing inherited that changes how it serves."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TOLLGATE_", "DATABASE_URL", "REDIS_URL", "FORWARDED_ALLOW_IPS"))
        and key != "XDG_RUNTIME_DIR"
    }
    env.update(
        TOLLGATE_DATA_DIR=str(site / "data"),
        TOLLGATE_STATIC_ROOT=str(site / "static"),
        TOLLGATE_ADMIN_USER=ADMIN_USER,
        TOLLGATE_ADMIN_PASSWORD=ADMIN_PASSWORD,
        # gunicorn's default control socket lives under $HOME: a fresh one shows what it made.
        HOME=str(site / "home"),
        DJANGO_SETTINGS_MODULE="gateway.settings",
        # One worker unless a test asks for more (the default is one per core).
        TOLLGATE_WORKERS="1",
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


def run_python(site: Path, script: str, **overrides: str) -> str:
    """Run `script` in a fresh Python with the site's environment (`overrides` on top);
    returns what it printed."""
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=site_env(site, **overrides),
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout


def prepare_site(site: Path) -> None:
    (site / "home").mkdir(parents=True, exist_ok=True)
    run_python(site, _PREPARE)


@dataclass
class Served:
    url: str
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]

    def stop(self) -> str:
        """Stops gunicorn (SIGTERM: it finishes writing its log) and returns the log."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        return self.log_path.read_text(errors="replace")


@contextmanager
def serving(site: Path, **env: str) -> Iterator[Served]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    log_path = site / f"gunicorn-{next(_runs)}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(GUNICORN),
                "-c",
                "python:gateway.gunicorn_conf",
                "--bind",
                f"fd://{sock.fileno()}",
            ],
            cwd=ROOT,
            env=site_env(site, **env),
            pass_fds=[sock.fileno()],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    served = Served(f"http://127.0.0.1:{port}", port, log_path, process)
    try:
        yield served
    finally:
        served.stop()
        sock.close()
