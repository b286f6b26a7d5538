"""The page of `run-eval leaderboard --html FILE`: self-contained (no network asset), a table per
comparability group with each entry's rank, the ranks it could hold, and its value's 95% interval
as a bar, status badges (verified, signed, self-signed, unsigned, invalid, unreadable, community PR,
closed PR), and the method differences."""

from __future__ import annotations

import html
import json
from typing import Any

BADGE = {"verified": "#1a7f37", "signed": "#1a7f37", "self-signed": "#9a6700", "unsigned": "#6e7781",
         "invalid": "#cf222e", "unreadable": "#6e7781", "community PR": "#0969da", "closed PR": "#8250df"}

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #1f2328; }
table { border-collapse: collapse; margin: 0.5em 0 2em; }
th, td { border-bottom: 1px solid #d0d7de; padding: 4px 10px; text-align: left; vertical-align: middle; }
th { background: #f6f8fa; }
.badge { color: white; border-radius: 10px; padding: 1px 8px; font-size: 12px; margin-right: 4px; white-space: nowrap; }
.differs { color: #57606a; font-size: 14px; }
.num { font-variant-numeric: tabular-nums; }
"""


def _esc(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return html.escape(value if isinstance(value, str) else json.dumps(value, default=str))


def badge(label: str) -> str:
    return f"<span class=badge style='background:{BADGE[label]}'>{html.escape(label)}</span>"


def _bar(ci: list[float] | None, value: Any, lo: float, hi: float) -> str:
    width, pad = 240, 6
    span = (hi - lo) or 1.0

    def x(v: float) -> float:
        return pad + (width - 2 * pad) * (min(max(v, lo), hi) - lo) / span

    parts = [f"<svg width={width} height=16 xmlns='http://www.w3.org/2000/svg'>",
             f"<line x1={pad} y1=8 x2={width - pad} y2=8 stroke='#d0d7de' />"]
    if ci is not None:
        parts.append(f"<line x1={x(ci[0]):.1f} y1=8 x2={x(ci[1]):.1f} y2=8 stroke='#0969da' stroke-width=4 />")
    if isinstance(value, (int, float)):
        parts.append(f"<circle cx={x(float(value)):.1f} cy=8 r=4 fill='#1f2328' />")
    parts.append("</svg>")
    return "".join(parts)


def page(board: Any) -> str:
    values = [float(r.row.value) for g in board.groups for r in g.entries]
    cis = [c for g in board.groups for r in g.entries if (c := r.ci95)]
    lo = min([v for c in cis for v in c] + values + [0.0])
    hi = max([v for c in cis for v in c] + values + [1.0])
    out = ["<!doctype html><html><head><meta charset=utf-8>",
           f"<title>run-eval leaderboard: {html.escape(board.benchmark)}</title><style>{STYLE}</style></head><body>",
           f"<h1>{html.escape(board.benchmark)}" + (f" / {html.escape(board.task_id)}" if board.task_id else "")
           + "</h1>",
           "<p>Entries are ranked only against entries produced by the same method. An entry's rank is 1 + the "
           "number of entries significantly better than it, and <i>could rank</i> the ranks it could hold, from "
           "the group's simultaneous intervals (each at level 1 &minus; 0.05/n); the bars are each value's own 95% "
           "interval.</p>"]
    for i, g in enumerate(board.groups):
        n = len(g.entries)
        out.append(f"<h2>Group {i + 1}" + (" (largest)" if i == 0 else "") + f": {n} entr{'y' if n == 1 else 'ies'}</h2>")
        if g.differs_from_largest:
            out.append("<p class=differs>Differs from the largest group in: " + "; ".join(
                f"<b>{html.escape(k)}</b> {_esc(a)} vs {_esc(b)}" for k, (a, b) in g.differs_from_largest.items())
                + "</p>")
        out.append("<table><tr><th>rank</th><th>could rank</th><th>model</th><th>value</th><th>95% interval</th>"
                   "<th>status</th></tr>")
        for r in g.entries:
            tags = badge(r.row.status) + (badge("community PR") if r.row.pull_request else "")
            best, worst = r.rank_range
            out.append(f"<tr><td class=num>{r.rank}</td><td class=num>{best}" + (f"&ndash;{worst}" if worst != best
                                                                                  else "")
                       + f"</td><td>{html.escape(r.row.model)}</td>"
                       f"<td class=num>{_esc(r.row.value)}</td><td>{_bar(r.ci95, r.row.value, lo, hi)}</td>"
                       f"<td>{tags}</td></tr>")
        out.append("</table>")
    if board.unranked:
        out.append("<h2>Not ranked</h2><table><tr><th>model</th><th>value</th><th>status</th><th>why</th></tr>")
        for r in board.unranked:
            out.append(f"<tr><td>{html.escape(r.model)}</td><td class=num>{_esc(r.value)}</td><td>{badge(r.status)}"
                       f"</td><td>{html.escape('no token' if r.status == 'unsigned' else r.reason or '')}</td></tr>")
        out.append("</table>")
    if board.closed:
        out.append("<h2>Closed pull requests</h2><table><tr><th>model</th><th>PR</th><th>author</th>"
                   "<th>closed</th><th>value</th><th>on main</th><th>status</th></tr>")
        for r in board.closed:
            c = r.closed or {}
            out.append(f"<tr><td>{html.escape(r.model)}</td><td>#{c.get('num')}</td>"
                       f"<td>{html.escape(str(c.get('author') or ''))}</td>"
                       f"<td>{html.escape(str(c.get('closed_at') or ''))}</td><td class=num>{_esc(r.value)}</td>"
                       f"<td class=num>{_esc(c.get('on_main'))}</td><td>{badge(r.status)}{badge('closed PR')}</td></tr>")
        out.append("</table>")
    if board.hub_mixed_pairs:
        out.append("<h2>Ranked together by the Hub, not comparable</h2><ul>")
        for p in board.hub_mixed_pairs:
            why = html.escape(p["why"]) if isinstance(p["why"], str) else "; ".join(
                f"{html.escape(k)} {_esc(a)} vs {_esc(b)}" for k, (a, b) in p["why"].items())
            out.append(f"<li>{html.escape(p['models'][0])} (#{p['hub_ranks'][0]}) and "
                       f"{html.escape(p['models'][1])} (#{p['hub_ranks'][1]}): {why}</li>")
        out.append("</ul>")
    out.append("</body></html>")
    return "\n".join(out)
