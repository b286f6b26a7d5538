"""On which scale a value is written: a fraction (Inspect's accuracy, 0.72) or a percentage
(the Hub's model cards, 72.0), and the one conversion between them.

The published record mixes both: unsigned entries copied from model cards are percentages,
run-eval's signed entries are Inspect's values (fractions for proportions). Two values are
compared only once both are on one scale; a value whose scale cannot be told is never
compared.

>>> record_scale([75.8, 80.2, 72.8, 0.71])
'mixed'
>>> shown_scale([75.8, 80.2, 72.8, 0.71]), entry_scale(0.71, "percent"), entry_scale(71.0, "mixed")
('percent', 'fraction', 'percent')
>>> convert(0.712, "fraction", "percent"), convert(71.2, "percent", "fraction")
(71.2, 0.712)
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Literal

Scale = Literal["fraction", "percent"]
RecordScale = Literal["fraction", "percent", "mixed", "unknown"]


def number(value: Any) -> float | None:
    """A published ``value`` as a float when it is a finite number (not a bool, a string or NaN),
    else None: what every reader of the record may put on a scale.

    >>> number(75.8), number(3), number(True), number("80.2"), number(float("nan"))
    (75.8, 3.0, None, None, None)
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        return None
    return float(value)


def evidence(value: float) -> Scale | None:
    """What one value says of its own scale: above 1 (and at most 100) only a percentage can
    be; strictly between 0 and 1 most likely a fraction; 0, 1 and anything else say nothing.

    >>> evidence(30.0), evidence(0.3), evidence(1.0), evidence(0.0), evidence(250.0)
    ('percent', 'fraction', None, None, None)
    """
    if 1.0 < value <= 100.0:
        return "percent"
    if 0.0 < value < 1.0:
        return "fraction"
    return None


def record_scale(values: Iterable[float]) -> RecordScale:
    """The scale of a published record: ``fraction`` or ``percent`` when every value that says
    anything agrees, ``mixed`` when both occur, ``unknown`` when none says anything."""
    seen = {e for v in values if (e := evidence(float(v))) is not None}
    if not seen:
        return "unknown"
    return "mixed" if len(seen) > 1 else next(iter(seen))  # type: ignore[return-value]


def shown_scale(values: Iterable[float]) -> Scale:
    """The scale a listing shows every value on: the one most published values are written on
    (percent on a tie: the Hub's cards are; fraction when nothing says)."""
    votes = [e for v in values if (e := evidence(float(v))) is not None]
    if not votes:
        return "fraction"
    return "percent" if votes.count("percent") >= votes.count("fraction") else "fraction"


def entry_scale(value: float, record: RecordScale) -> Scale:
    """The scale of one unsigned entry's value, written in a record of scale ``record``: its
    own evidence when it has some, else the record's (a fraction when the record says nothing)."""
    own = evidence(float(value))
    if own is not None:
        return own
    return "percent" if record == "percent" else "fraction"


def convert(value: float, frm: Scale, to: Scale) -> float:
    """``value`` written on scale ``frm``, on scale ``to`` (rounded to 10 significant digits,
    so that 0.712 -> 71.2 does not print as 71.19999999999999)."""
    if frm == to:
        return value
    out = value * 100.0 if to == "percent" else value / 100.0
    return float(f"{out:.10g}")
