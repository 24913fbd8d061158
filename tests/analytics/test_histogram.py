"""Histogram edges, computed by hand."""

from __future__ import annotations

import pytest

from ccmon.analytics.histogram import linear_edges, log_edges


@pytest.mark.parametrize(
    ("low", "high", "bins", "whole", "edges"),
    [
        (0, 600, 4, False, [0, 200, 400, 600]),  # 150 rounds up to 200; 600 is in the last bin, closed
        (0, 600, 20, False, [0, 50, 100, 150, 200, 250, 300, 350, 400, 450, 500, 550, 600]),
        (1, 3, 20, True, [1, 2, 3, 4]),  # whole numbers: never narrower than 1, one bin per value
        (0, 10, 5, True, [0, 5, 10, 15]),  # 11 values in at most 5 bins: width 5, and 10 opens the last
        (0.1, 0.3, 2, False, [0.1, 0.2, 0.3]),  # no floating-point dust (0.30000000000000004)
        (180, 180, 20, False, [180, 190]),  # a single value: a bin of a twentieth of it
        (5, 5, 20, True, [5, 6]),
        (0, 0, 20, False, [0, 0.05]),
    ],
)
def test_linear_edges(low: float, high: float, bins: int, whole: bool, edges: list[float]) -> None:
    assert linear_edges(low, high, bins, whole=whole) == edges


@pytest.mark.parametrize(
    ("low", "high", "low_positive", "bins", "edges"),
    [
        (0, 10000, 100, 20, [0, 100, 200, 500, 1000, 2000, 5000, 10000]),  # zeros get [0, 100)
        (0, 10000, 100, 3, [0, 100, 1000, 10000]),  # too many 1-2-5 bins: decades
        (0, 10000, 100, 2, [0, 100, 10000]),  # too many decades: two per bin
        (0, 10000, 100, 1, [0, 10000]),
        (3, 40, 3, 20, [2, 5, 10, 20, 50]),
        (0.0123, 7.5, 0.0123, 20, [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10]),
        (1, 1e9, 1, 4, [1, 1e3, 1e6, 1e9]),
        (100, 100, 100, 20, [100, 200]),
        (0, 0, None, 20, [0, 1]),  # all zeros
    ],
)
def test_log_edges(low: float, high: float, low_positive: float | None, bins: int, edges: list[float]) -> None:
    assert log_edges(low, high, low_positive, bins) == edges
