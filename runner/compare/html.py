"""The HTML page of `run-eval reproduce --html FILE`: one self-contained page (no network
assets), per entry both scores with their 95% intervals on one axis (SVG): each run's own
interval (stats.Comparison.ci_original/ci_reproduced: Wilson for 0/1 scores, so that it stays in
[0, 1]; none drawn where a run's uncertainty is unknown)."""

from __future__ import annotations

import html
from typing import Any


def reproduce_page(outcomes: list[Any]) -> str:
    """A self-contained page: per entry, both scores with 95% intervals on one axis (SVG)."""
    parts = ["<!doctype html><meta charset=utf-8><title>run-eval reproduce</title>",
             "<body style='font-family:sans-serif'><h1>run-eval reproduce</h1>"]
    for o in outcomes:
        c = o.comparison
        parts.append(f"<h2>{html.escape(o.task_id)}: {html.escape(o.verdict)}</h2><p>{html.escape(o.why)}</p>")
        if c is None:
            continue
        # each run with its own interval (Wilson for 0/1 scores, so inside [0, 1]), not the comparison's
        rows = [("original", c.original, c.ci_original), ("reproduced", c.reproduced, c.ci_reproduced)]
        x = lambda v: 60 + 400 * max(0.0, min(1.0, v))  # noqa: E731
        svg = ["<svg width=520 height=120 xmlns='http://www.w3.org/2000/svg'>",
               "<line x1=60 y1=100 x2=460 y2=100 stroke=black />"]
        for tick in (0, 0.25, 0.5, 0.75, 1):
            svg.append(f"<text x={x(tick) - 8:.0f} y=115 font-size=10>{tick}</text>")
        for i, (label, value, ci) in enumerate(rows):
            y = 35 + 35 * i
            if ci is not None:
                svg.append(f"<line x1={x(ci[0]):.1f} y1={y} x2={x(ci[1]):.1f} y2={y} stroke=steelblue "
                           "stroke-width=2 />")
            svg.append(f"<circle cx={x(value):.1f} cy={y} r=4 fill=steelblue />")
            svg.append(f"<text x=0 y={y + 4} font-size=11>{label}</text>")
        svg.append("</svg>")
        parts.append("".join(svg))
    return "\n".join(parts)
