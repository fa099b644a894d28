"""gunicorn's config for the slow streams with BENCH_STALLS=1: the production config, plus the
event-loop stall watcher of bench/stalls.py installed in each worker before it serves."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench.stalls import install
from gateway.gunicorn_conf import *  # noqa: F403


def post_worker_init(worker: Any) -> None:
    install(Path(os.environ["BENCH_STALLS_OUT"]))
