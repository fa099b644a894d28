"""gunicorn's config for a traced Tollgate (BENCH_TRACE=1): the production config, plus the
stage hooks of bench/trace.py installed in each worker before it serves."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from bench.trace import Marks, install_tollgate
from gateway.gunicorn_conf import *  # noqa: F403


def post_worker_init(worker: Any) -> None:
    marks = Marks()
    install_tollgate(marks)
    directory = Path(os.environ["BENCH_TRACE_OUT"])
    signal.signal(signal.SIGUSR2, lambda *_: marks.dump(directory))
