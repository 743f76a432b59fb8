"""Horizontal bar charts as plain numbers for a server-rendered SVG (no script, no library)."""

from __future__ import annotations

from dataclasses import dataclass

LABEL_WIDTH = 220
BAR_AREA = 480
ROW = 22


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
    cap_x: int
    height: int
    width: int = LABEL_WIDTH + BAR_AREA + 120


def bar_chart(rows: list[tuple[str, int]], cap: int) -> BarChart:
    """Bars for (label, value) rows, scaled so the largest value or the cap fills the width."""
    top = max([cap, *(value for _, value in rows)]) or 1
    bars = [Bar(label, value, 8 + i * ROW, max(1, round(BAR_AREA * value / top)) if value else 0)
            for i, (label, value) in enumerate(rows)]
    return BarChart(bars, cap, LABEL_WIDTH + round(BAR_AREA * cap / top), 16 + max(1, len(rows)) * ROW)
