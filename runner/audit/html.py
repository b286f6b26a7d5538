"""The page of `run-eval audit --html FILE`: self-contained (no network asset): per task, a
histogram of the models' scores (coloured by cluster), the distribution test, and the
findings with their evidence."""

from __future__ import annotations

import html
from typing import Any

from run_eval.runner.audit.checks import Audit

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #1f2328; max-width: 1100px; }
table { border-collapse: collapse; margin: 0.5em 0 2em; }
th, td { border-bottom: 1px solid #d0d7de; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
.rule { font-family: ui-monospace, monospace; white-space: nowrap; }
.test { color: #57606a; font-size: 14px; }
.samples { font-family: ui-monospace, monospace; font-size: 13px; min-width: 18em; }
"""
BINS = 20
LOW, HIGH, NONE = "#cf222e", "#0969da", "#6e7781"


def histogram(dist: dict[str, Any]) -> str:
    """An SVG histogram of the models' scores in BINS bins over [0, 1]."""
    width, height, pad = 520, 160, 24
    bins: list[list[str]] = [[] for _ in range(BINS)]
    for model, value in dist["models"].items():
        bins[min(BINS - 1, max(0, int(float(value) * BINS)))].append(model)
    tallest = max((len(b) for b in bins), default=1) or 1
    bar_w = (width - 2 * pad) / BINS
    low = set(dist.get("low") or []) if dist.get("bimodal") else set()
    parts = [f"<svg width={width} height={height + 20} xmlns='http://www.w3.org/2000/svg' role=img>",
             f"<line x1={pad} y1={height} x2={width - pad} y2={height} stroke='#1f2328' />"]
    for i, models in enumerate(bins):
        for j, model in enumerate(sorted(models)):
            unit = (height - pad) / tallest
            y = height - (j + 1) * unit
            color = LOW if model in low else HIGH if dist.get("bimodal") else NONE
            parts.append(f"<rect x={pad + i * bar_w + 1:.1f} y={y:.1f} width={bar_w - 2:.1f} height={unit - 1:.1f} "
                         f"fill='{color}'><title>{html.escape(model)}: {dist['models'][model]:.4f}</title></rect>")
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        x = pad + tick * (width - 2 * pad)
        parts.append(f"<text x={x:.1f} y={height + 15} font-size=11 text-anchor=middle>{tick:g}</text>")
    parts.append("</svg>")
    return "".join(parts)


def page(result: Audit, title: str) -> str:
    out = ["<!doctype html><html><head><meta charset=utf-8>",
           f"<title>run-eval audit: {html.escape(title)}</title><style>{STYLE}</style></head><body>",
           f"<h1>audit: {html.escape(title)}</h1>",
           f"<p>{len(result.runs)} runs, {len({r.model for r in result.runs})} models, "
           f"{len(result.findings)} findings.</p>"]
    for task, dist in result.distribution.items():
        out.append(f"<h2>{html.escape(task)}</h2>")
        out.append(histogram(dist))
        out.append("<p class=test>" + ", ".join(f"{html.escape(m)} {v:.3f}" for m, v in
                                                sorted(dist["models"].items(), key=lambda kv: kv[1])) + "</p>")
        verdict = ("two separate clusters" if dist.get("bimodal") else
                   dist.get("note") or "no separate clusters")
        d = dist.get("d")
        measured = "" if d is None else f" (dip test p = {dist['dip_p']}, Ashman's D = {d})"
        out.append(f"<p class=test>Scores of {len(dist['models'])} models: {html.escape(verdict)}{measured}. "
                   f"Test: {html.escape(dist['test'])}.</p>")
        rows = [f for f in result.findings if f.task_id == task]
        if rows:
            out.append("<table><tr><th>rule</th><th>model</th><th>samples</th><th>evidence</th><th>finding</th></tr>")
            for f in rows:
                out.append(f"<tr><td class=rule>{html.escape(f.rule)}</td><td>{html.escape(f.model or 'all models')}"
                           f"</td><td>{f.count}</td><td class=samples>{'<br>'.join(map(html.escape, f.samples))}</td>"
                           f"<td>{html.escape(f.message)}</td></tr>")
            out.append("</table>")
        else:
            out.append("<p>No findings.</p>")
    out.append("</body></html>")
    return "\n".join(out)
