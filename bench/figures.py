"""How a figure is written in the report, shared by bench/report.py and bench/slow_report.py."""

from __future__ import annotations


def ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.3f} ms" if abs(value) < 1 else f"{value:.2f} ms"


def mb(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} MB"


def kib(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} KB"


def verdict(measured: float | None, limit: float) -> str:
    if measured is None:
        return "not measured"
    return "met" if measured <= limit else "**NOT met**"
