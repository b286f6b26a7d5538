"""The page of `run-eval leaderboard --html FILE`: self-contained (no network asset), a table per
comparability group with each entry's rank, the ranks it could hold, and its value's 95% interval
as a bar, status badges (verified, signed, self-signed, unsigned, invalid, unreadable, community PR,
closed PR), the method differences, each entry's source (as text: the page links nowhere), the
record's scale, conflicting values, undeclared task ids, rewrites and checks by signed entries."""

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


def _source(r: Any) -> str:
    p = r.provenance
    if p is None:
        return "-"
    bits = [p.source_name or p.source_url or "-"] + [x for x in (p.date, p.notes) if x]
    return html.escape(" · ".join(bits)) + (f"<br><small>{html.escape(p.source_url)}</small>"
                                             if p.source_url and p.source_name else "")


def _marks(r: Any) -> str:
    out = [f"rewritten {_esc(c.frm)} &rarr; {_esc(c.to)} by {html.escape(c.author or '?')} on "
           f"{html.escape(c.date or '?')}" for c in r.rewritten]
    out += [f"{html.escape(c.verdict)} with {html.escape(c.signer)} ({_esc(c.value)})" for c in r.checks]
    if r.corroborated_by:
        out.append("corroborated by " + html.escape(", ".join(r.corroborated_by)))
    return "<br>".join(out)


def page(board: Any) -> str:
    values = [float(board.entry(r.row)["value"]) for g in board.groups for r in g.entries]
    cis = [c for g in board.groups for r in g.entries if (c := board.scale.show_interval(r.ci95))]
    lo = min([v for c in cis for v in c] + values + [0.0])
    hi = max([v for c in cis for v in c] + values + [100.0 if board.scale.shown == "percent" else 1.0])
    out = ["<!doctype html><html><head><meta charset=utf-8>",
           f"<title>run-eval leaderboard: {html.escape(board.benchmark)}</title><style>{STYLE}</style></head><body>",
           f"<h1>{html.escape(board.benchmark)}" + (f" / {html.escape(board.task_id)}" if board.task_id else "")
           + "</h1>",
           "<p>Entries are ranked only against entries produced by the same method. An entry's rank is 1 + the "
           "number of entries significantly better than it, and <i>could rank</i> the ranks it could hold, from "
           "the group's simultaneous intervals (each at level 1 &minus; 0.05/n); the bars are each value's own 95% "
           "interval.</p>",
           f"<p>Values are shown on the <b>{html.escape(board.scale.shown)}</b> scale; the record publishes "
           f"{html.escape(board.scale.published)} values.</p>"]
    for i, g in enumerate(board.groups):
        n = len(g.entries)
        out.append(f"<h2>Group {i + 1}" + (" (largest)" if i == 0 else "") + f": {n} entr{'y' if n == 1 else 'ies'}</h2>")
        if g.differs_from_largest:
            out.append("<p class=differs>Differs from the largest group in: " + "; ".join(
                f"<b>{html.escape(k)}</b> {_esc(a)} vs {_esc(b)}" for k, (a, b) in g.differs_from_largest.items())
                + "</p>")
        out.append("<table><tr><th>rank</th><th>could rank</th><th>model</th><th>value</th><th>95% interval</th>"
                   "<th>status</th><th>source</th><th>notes</th></tr>")
        for r in g.entries:
            tags = badge(r.row.status) + (badge("community PR") if r.row.pull_request else "")
            best, worst = r.rank_range
            out.append(f"<tr><td class=num>{r.rank}</td><td class=num>{best}" + (f"&ndash;{worst}" if worst != best
                                                                                  else "")
                       + f"</td><td>{html.escape(r.row.model)}</td>"
                       f"<td class=num>{_esc(board.entry(r.row)['value'])}</td>"
                       f"<td>{_bar(board.scale.show_interval(r.ci95), board.entry(r.row)['value'], lo, hi)}</td>"
                       f"<td>{tags}</td><td>{_source(r.row)}</td><td>{_marks(r.row)}</td></tr>")
        out.append("</table>")
    if board.unranked:
        out.append("<h2>Not ranked</h2><table><tr><th>model</th><th>task</th><th>value</th><th>status</th>"
                   "<th>source</th><th>why</th><th>notes</th></tr>")
        for r in board.unranked:
            tags = badge(r.status) + (badge("community PR") if r.pull_request else "")
            out.append(f"<tr><td>{html.escape(r.model)}</td><td>{_esc(r.task_id)}</td>"
                       f"<td class=num>{_esc(board.entry(r)['value'])}</td><td>{tags}</td><td>{_source(r)}</td>"
                       f"<td>{html.escape('no token' if r.status == 'unsigned' else r.reason or '')}</td>"
                       f"<td>{_marks(r)}</td></tr>")
        out.append("</table>")
    if board.closed:
        out.append("<h2>Closed pull requests</h2><table><tr><th>model</th><th>PR</th><th>author</th>"
                   "<th>closed</th><th>value</th><th>on main</th><th>status</th></tr>")
        for r in board.closed:
            c = r.closed or {}
            out.append(f"<tr><td>{html.escape(r.model)}</td><td>#{c.get('num')}</td>"
                       f"<td>{html.escape(str(c.get('author') or ''))}</td>"
                       f"<td>{html.escape(str(c.get('closed_at') or ''))}</td><td class=num>{_esc(board.entry(r)['value'])}</td>"
                       f"<td class=num>{_esc(c.get('on_main'))}</td><td>{badge(r.status)}{badge('closed PR')}</td></tr>")
        out.append("</table>")
    if board.conflicts:
        out.append("<h2>Conflicting values</h2><ul>")
        for c in board.conflicts:
            out.append(f"<li><b>{html.escape(c.model)}</b>, task {_esc(c.task_id)}: " + "; ".join(
                f"{_esc(v.value)} ({html.escape(v.source_name or 'no source')}, {html.escape(str(v.file))})"
                for v in c.values) + "</li>")
        out.append("</ul>")
    if board.declared is None:
        out.append(f"<p>Task ids not checked against the benchmark's eval.yaml: "
                   f"{html.escape(str(board.spec.get('why')))}</p>")
    elif board.undeclared:
        out.append(f"<h2>Undeclared task ids</h2><p>{html.escape(str(board.spec.get('eval_yaml')))} declares "
                   f"{html.escape(', '.join(board.declared) or 'none')}; these are listed, never merged:</p><ul>")
        for u in board.undeclared:
            out.append(f"<li>{_esc(u.task_id)}: {html.escape(', '.join(u.models))}</li>")
        out.append("</ul>")
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
