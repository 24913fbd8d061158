from __future__ import annotations

from ccmon.ingest.cumulative import CumulativeState
from ccmon.ingest.rows import Row
from ccmon.ingest.vocabulary import METRICS
from ccmon.store.series import SeriesPoint

COL = METRICS.index
SECOND = 10**9


def _point(series: int, start: int, end: int, value: float, temporality: int = 2, monotonic: bool = True) -> Row:
    row = list(METRICS.defaults)
    row[COL["series_id"]] = series
    row[COL["start_ts"]] = start * SECOND
    row[COL["ts"]] = end * SECOND
    row[COL["raw_value"]] = value
    row[COL["value"]] = value
    row[COL["temporality"]] = temporality
    row[COL["monotonic"]] = monotonic
    return row


def _increments(state: CumulativeState, rows: list[Row]) -> list[object]:
    pending, _ = state.convert(rows)
    state.commit(pending)
    return [r[COL["value"]] for r in rows]


def test_running_totals_become_increments() -> None:
    state = CumulativeState()
    rows = [_point(1, 0, 10, 5.0), _point(1, 0, 20, 7.5), _point(1, 0, 30, 7.5)]
    assert _increments(state, rows) == [5.0, 2.5, 0.0]
    assert _increments(state, [_point(1, 0, 40, 9.0)]) == [1.5]


def test_points_in_one_batch_are_chained_in_time_order() -> None:
    state = CumulativeState()
    rows = [_point(1, 0, 30, 9.0), _point(1, 0, 10, 4.0), _point(1, 0, 20, 6.0)]
    assert _increments(state, rows) == [3.0, 4.0, 2.0]


def test_new_start_time_is_a_reset() -> None:
    state = CumulativeState({1: SeriesPoint(0, 30 * SECOND, 9.0)})
    assert _increments(state, [_point(1, 100, 110, 2.0)]) == [2.0]


def test_lower_value_on_a_monotonic_sum_is_a_reset() -> None:
    state = CumulativeState({1: SeriesPoint(0, 30 * SECOND, 9.0)})
    assert _increments(state, [_point(1, 0, 40, 3.0)]) == [3.0]


def test_lower_value_on_an_up_down_counter_is_a_decrease() -> None:
    state = CumulativeState({1: SeriesPoint(0, 30 * SECOND, 9.0)})
    assert _increments(state, [_point(1, 0, 40, 3.0, monotonic=False)]) == [-6.0]


def test_stale_points_count_zero_and_do_not_move_the_state() -> None:
    state = CumulativeState({1: SeriesPoint(50 * SECOND, 60 * SECOND, 9.0)})
    rows = [_point(1, 50, 60, 9.0), _point(1, 50, 55, 8.0), _point(1, 0, 70, 100.0)]
    pending, stale = state.convert(rows)
    assert stale == 3
    assert [r[COL["value"]] for r in rows] == [0.0, 0.0, 0.0]
    assert pending == {}


def test_series_are_independent_and_delta_points_untouched() -> None:
    state = CumulativeState()
    rows = [_point(1, 0, 10, 5.0), _point(2, 0, 10, 1.0), _point(3, 0, 10, 4.0, temporality=1)]
    assert _increments(state, rows) == [5.0, 1.0, 4.0]
    assert state.get(3) is None


def test_nothing_is_kept_until_commit() -> None:
    state = CumulativeState()
    pending, _ = state.convert([_point(1, 0, 10, 5.0)])
    assert state.get(1) is None
    state.commit(pending)
    assert state.get(1) == SeriesPoint(0, 10 * SECOND, 5.0)
