"""Horizontal bar charts as plain numbers for a server-rendered SVG (no script, no library)."""

from __future__ import annotations

from dataclasses import dataclass

LABEL_WIDTH = 220
BAR_AREA = 480
ROW = 22
CAP_REACH = 4  # the cap is drawn when it is at most this many times the largest bar


@dataclass(frozen=True)
class Bar:
    """One row: its label, value, position and length."""

    label: str
    value: int
    y: int
    width: int


@dataclass(frozen=True)
class BarChart:
    """Bars against a scale that always shows the cap."""

    bars: list[Bar]
    cap: int
    cap_x: int | None  # None: the cap lies far beyond every bar (drawn to scale, the bars would vanish)
    height: int
    width: int = LABEL_WIDTH + BAR_AREA + 120


def bar_chart(rows: list[tuple[str, int]], cap: int) -> BarChart:
    """Bars for (label, value) rows, scaled to the largest value, or to the cap when it is near them."""
    largest = max((value for _, value in rows), default=0)
    show_cap = largest == 0 or cap <= largest * CAP_REACH
    top = max(largest, cap if show_cap else 0) or 1
    bars = [Bar(label, value, 8 + i * ROW, max(1, round(BAR_AREA * value / top)) if value else 0)
            for i, (label, value) in enumerate(rows)]
    cap_x = LABEL_WIDTH + round(BAR_AREA * cap / top) if show_cap else None
    return BarChart(bars, cap, cap_x, 16 + max(1, len(rows)) * ROW)
