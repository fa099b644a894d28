"""gunicorn's settings for Tollgate: `gunicorn -c python:gateway.gunicorn_conf`.

Used by `make serve` and the Docker image, so both serve the same way. Every value comes from
the environment (see .env.example); a gunicorn command-line flag still overrides it.
"""

from __future__ import annotations

import os
from typing import Any

from core.env import env_bool, env_int, env_str
from gateway.data_dir import default_data_dir, secure_data_dir
from gateway.serving import raise_open_file_limit, redact_server_logs, serving_options

_options = serving_options()
_data_dir = default_data_dir()
secure_data_dir(_data_dir)


def _bind_address() -> str:
    host = env_str("TOLLGATE_HOST", "127.0.0.1")
    port = env_int("TOLLGATE_PORT", 8000, minimum=0)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


wsgi_app = "gateway.asgi:application"
bind = [_bind_address()]
workers = env_int("TOLLGATE_WORKERS", 1, minimum=1)
worker_class = "gateway.serving.TollgateWorker"
accesslog = "-"
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
    raise_open_file_limit(_options.max_connections)
    if os.environ.get("FORWARDED_ALLOW_IPS"):
        server.log.warning(
            "FORWARDED_ALLOW_IPS is ignored: name your reverse proxies in TOLLGATE_TRUSTED_PROXIES"
        )
