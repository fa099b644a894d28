"""Bar charts drawn on the server as inline SVG: no JavaScript, no library, no CDN.

A chart is sized by its viewBox only, so it scales with the page; its text is whatever the
caller passes (already translated), and each bar carries a <title> a browser shows on hover
and a screen reader reads. The page shows the same numbers as a table beside every chart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 640
HEIGHT = 200
LEFT = 64  # room for the value axis' labels
RIGHT = 8
TOP = 12
BOTTOM = 26  # room for the time axis' labels
MOST_X_LABELS = 8
GAP = 0.2  # share of each slot left empty between bars


@dataclass(frozen=True, slots=True)
class Bar:
    label: str  # under the axis (shown for every few bars)
    value: float
    title: str  # on hover: what the bar is and its exact value


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def bar_chart(
    bars: Sequence[Bar],
    *,
    caption: str,
    axis_label: Callable[[float], str],
    height: int = HEIGHT,
) -> SafeString:
    """An SVG bar chart of `bars`; `axis_label` writes a value axis tick (0, half, top)."""
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = height - TOP - BOTTOM
    top = max((bar.value for bar in bars), default=0.0)
    scale = plot_height / top if top > 0 else 0.0
    slot = plot_width / max(len(bars), 1)
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-label="{escape(caption)}" preserveAspectRatio="xMidYMid meet">',
        f"<title>{escape(caption)}</title>",
    ]
    baseline = TOP + plot_height
    for fraction in (0.0, 0.5, 1.0):
        y = baseline - plot_height * fraction
        parts.append(
            f'<line class="chart-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
            f'y1="{_number(y)}" y2="{_number(y)}"/>'
        )
        parts.append(
            f'<text class="chart-axis" x="{LEFT - 6}" y="{_number(y + 4)}" text-anchor="end">'
            f"{escape(axis_label(top * fraction))}</text>"
        )
    every = max(1, -(-len(bars) // MOST_X_LABELS))
    for index, bar in enumerate(bars):
        bar_height = max(bar.value, 0) * scale
        x = LEFT + index * slot + slot * GAP / 2
        parts.append(
            f'<rect class="chart-bar" x="{_number(x)}" y="{_number(baseline - bar_height)}" '
            f'width="{_number(slot * (1 - GAP))}" height="{_number(bar_height)}">'
            f"<title>{escape(bar.title)}</title></rect>"
        )
        if index % every == 0:
            parts.append(
                f'<text class="chart-axis" x="{_number(x + slot * (1 - GAP) / 2)}" '
                f'y="{height - 8}" text-anchor="middle">{escape(bar.label)}</text>'
            )
    parts.append("</svg>")
    # Every piece of text above went through escape(); the rest are numbers.
    return mark_safe("".join(parts))
