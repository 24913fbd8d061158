"""State the writer keeps per cumulative metric series, persisted implicitly in `metric_points`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SeriesPoint:
    """The latest point seen of one cumulative series."""

    start_ns: int
    end_ns: int
    value: float
