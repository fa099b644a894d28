"""gunicorn's settings for Tollgate: `gunicorn -c python:gateway.gunicorn_conf`.

Used by `make serve` and the Docker image, so both serve the same way. Every value comes from
the environment (see .env.example); a gunicorn command-line flag still overrides it.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from core.env import env_bool, env_int, env_str
from gateway.data_dir import default_data_dir, secure_data_dir
from gateway.log_format import gunicorn_logconfig
from gateway.serving import raise_open_file_limit, redact_server_logs, serving_options

_options = serving_options()
_data_dir = default_data_dir()
secure_data_dir(_data_dir)

_METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
# The directory made for this server's metrics (None: the admin named one, which stays).
_made_metrics_dir: Path | None = None


def _bind_address() -> str:
    host = env_str("TOLLGATE_HOST", "127.0.0.1")
    port = env_int("TOLLGATE_PORT", 8000, minimum=0)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


wsgi_app = "gateway.asgi:application"
bind = [_bind_address()]
# One process per core by default: the CPUs this process may run on (a container's cpuset),
# else the machine's. Several workers share the database (SQLite in WAL mode) and Redis.
workers = env_int(
    "TOLLGATE_WORKERS",
    len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1,
    minimum=1,
)
worker_class = "gateway.serving.TollgateWorker"
accesslog = "-"
# TOLLGATE_LOG_FORMAT=json: gunicorn's and uvicorn's lines as JSON too (gateway.log_format).
logconfig_dict = gunicorn_logconfig()
# Streams may run for many minutes: no worker timeout; 30 s for requests to finish on restart.
timeout = 0
graceful_timeout = 30
keepalive = _options.keepalive_seconds
backlog = _options.backlog
# gunicorn's own copy (the worker passes uvicorn its own, from the same setting).
forwarded_allow_ips = ",".join(_options.trusted_proxies)
# The control socket (gunicornc) of this instance, not one path shared by every gunicorn run
# by the same user: 0600 in the 0700 data directory.
control_socket = str(_data_dir / "gunicorn.ctl")
control_socket_disable = not env_bool("TOLLGATE_CONTROL_SOCKET", True)


def on_starting(server: Any) -> None:
    redact_server_logs()
    _prepare_metrics_dir()
    raise_open_file_limit(_options.max_connections)
    if os.environ.get("FORWARDED_ALLOW_IPS"):
        server.log.warning(
            "FORWARDED_ALLOW_IPS is ignored: name your reverse proxies in TOLLGATE_TRUSTED_PROXIES"
        )
    _load_app_before_fork()


def _load_app_before_fork() -> None:
    """Import the application in the master, so every worker forks with it loaded.

    Django, the relay and their libraries are then pages the workers share (copy on write)
    instead of a copy each: `make bench` measured a worker's own memory (PSS) drop from about
    69 MB to about 40 MB. gunicorn's preload_app would load it before on_starting, too early:
    the metrics directory must be set before prometheus_client is imported. As with
    preload_app, new code needs a restart, not a HUP.
    """
    import gateway.asgi  # noqa: F401


def post_fork(server: Any, worker: Any) -> None:
    from gateway.metrics import start_worker

    start_worker()


def pre_fork(server: Any, worker: Any) -> None:
    # What the master holds now lives as long as the workers: kept out of the collector's
    # passes, whose reference counting would otherwise copy the shared pages into each worker.
    gc.freeze()


def child_exit(server: Any, worker: Any) -> None:
    # A dead worker's open streams and buffered records are gone: its live gauges go too.
    # Its counters stay, so totals never go backwards.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, os.environ[_METRICS_DIR_ENV])


def on_exit(server: Any) -> None:
    if _made_metrics_dir is not None:
        shutil.rmtree(_made_metrics_dir, ignore_errors=True)
    elif os.environ.get(_METRICS_DIR_ENV):
        # The master loaded the app too (its live gauges, all zero, have a file of its own).
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid(), os.environ[_METRICS_DIR_ENV])


def _prepare_metrics_dir() -> None:
    """Prometheus's multiprocess mode: each worker writes its samples to files in this
    directory and the one answering /metrics adds them up (gateway.metrics).

    Set in the master before it starts any worker (they inherit it, and prometheus_client
    picks its mode once, when a worker imports it). Without PROMETHEUS_MULTIPROC_DIR each
    start gets a private directory, removed at exit. A named one is emptied: a previous
    run's samples would be added to this run's.
    """
    global _made_metrics_dir
    named = os.environ.get(_METRICS_DIR_ENV)
    if not named:
        _made_metrics_dir = Path(tempfile.mkdtemp(prefix="tollgate-metrics-"))
        os.environ[_METRICS_DIR_ENV] = str(_made_metrics_dir)
        return
    directory = Path(named)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for leftover in directory.glob("*.db"):
        leftover.unlink(missing_ok=True)
