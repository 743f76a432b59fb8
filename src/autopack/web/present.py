"""Presentation helpers: bar charts as numbers for a server-rendered SVG, and diffs as classed lines.

Neither builds markup: the templates do, with autoescape on.
"""

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
    """Bars, and where the cap falls on their scale."""

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


DIFF_MAX_LINES = 2000  # per request on the page; the whole patch is GET /governance/request/{id}


def diff_lines(patch: str) -> dict:
    """`diff`: its first lines as (class, line) pairs ("add", "del", "hunk", "file", ""); `diff_more`: the rest."""
    lines = patch.splitlines()
    out = []
    for line in lines[:DIFF_MAX_LINES]:
        if line.startswith(("+++", "---", "diff ", "index ")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = ""
        out.append((kind, line))
    return {"diff": out, "diff_more": max(0, len(lines) - DIFF_MAX_LINES)}
