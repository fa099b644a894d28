"""The floor with the stage hooks of bench/trace.py (BENCH_TRACE=1); arguments as bench.floor."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from bench import floor
from bench.trace import Marks, install_floor


def main() -> None:
    marks = Marks()
    install_floor(marks)
    directory = Path(os.environ["BENCH_TRACE_OUT"])
    signal.signal(signal.SIGUSR2, lambda *_: marks.dump(directory))
    floor.main()


if __name__ == "__main__":
    main()
