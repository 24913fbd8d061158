"""Histogram bin edges a person can read (0, 200, 400 rather than 0, 187.3, 374.6), and the SQL that bins by them.

Bins are [lower, upper), except the last, which includes its upper edge, so the largest value always has a bin.
Edges come from the values' smallest and largest (and smallest positive) value:

- linear: equal bins of 1, 2 or 5 times a power of ten, the smallest such width giving at most the asked number of
  bins; whole-number measures get widths of at least 1, and their last bin ends above the largest value, so each
  bin holds the same count of whole numbers.
- log: edges 1, 2, 5, 10, 20, 50, ... (or 1, 10, 100, ..., or every few powers of ten when fewer bins are asked),
  for heavy-tailed measures such as tokens or cost per session; values of 0 get a first bin [0, first edge).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

_TOLERANCE = 1e-9
"""Relative slack when dividing by a width, so 0.3 / 0.1 = 2.9999999999999996 counts as 3."""


def _clean(value: float) -> float:
    """An edge without floating-point dust (3 * 0.1 is 0.30000000000000004)."""
    return float(f"{value:.12g}")


def _nice_widths(at_least: float) -> Iterator[float]:
    """1, 2 or 5 times a power of ten, from the smallest not below `at_least` upwards."""
    exponent = math.floor(math.log10(at_least))
    while True:
        for mantissa in (1, 2, 5):
            width = _clean(mantissa * 10.0**exponent)
            if width >= at_least * (1 - _TOLERANCE):
                yield width
        exponent += 1


def linear_edges(low: float, high: float, bins: int, *, whole: bool) -> list[float]:
    """At most `bins` equal bins of a nice width covering [low, high]."""
    upper = high + 1 if whole else high  # whole numbers: the bin of `high` is [high, high + 1) at width 1
    span = upper - low or abs(low) or 1.0  # a single value still gets a bin of a sensible width
    for width in _nice_widths(span / bins):
        if whole and width < 1:
            continue
        first = math.floor(low / width + _TOLERANCE)
        last = max(math.ceil(upper / width - _TOLERANCE), first + 1)
        if last - first <= bins:
            return [_clean(k * width) for k in range(first, last + 1)]
    raise AssertionError("unreachable: the widths grow without bound")


def log_edges(low: float, high: float, low_positive: float | None, bins: int) -> list[float]:
    """At most `bins` bins with edges 1-2-5 times powers of ten covering [low, high]; `low_positive` is the smallest
    value above 0 (None when there is none)."""
    if low_positive is None:  # every value is 0: nothing to put on a log scale
        return linear_edges(low, high, bins, whole=True)
    zero_bin = int(low < low_positive)
    low = float(low)
    decades = range(math.floor(math.log10(low_positive)) - 1, math.ceil(math.log10(high)) + 2)
    for mantissas in ((1, 2, 5), (1,)):
        edges = _spanning([_clean(m * 10.0**e) for e in decades for m in mantissas], low_positive, high)
        if zero_bin + len(edges) - 1 <= bins:
            return [low, *edges] if zero_bin else edges
    # Fewer bins than decades: each bin spans `stride` decades.
    room = max(bins - zero_bin, 1)
    stride = math.ceil((len(edges) - 1) / room)
    strided = [_clean(edges[0] * 10.0 ** (stride * i)) for i in range(math.ceil((len(edges) - 1) / stride) + 1)]
    if bins - zero_bin < 1:  # a single bin and some zeros: it starts at 0
        return [low, strided[-1]]
    return [low, *strided] if zero_bin else strided


def _spanning(candidates: list[float], low: float, high: float) -> list[float]:
    """The candidates from the largest not above `low` to the smallest above it and not below `high`."""
    first = max(c for c in candidates if c <= low)
    last = min(c for c in candidates if c >= high and c > first)
    return [c for c in candidates if first <= c <= last]


def bin_sql(value: str) -> str:
    """The 1-based bin of `value` given the edges bound as `{histogram_edges:Array(Float64)}`.

    The first upper edge above the value; past the last one (only the largest value, on the closed last edge) the last.
    """
    uppers = "arraySlice({histogram_edges:Array(Float64)}, 2)"
    return f"if(arrayFirstIndex(e -> {value} < e, {uppers}) AS found = 0, length({uppers}), found)"
