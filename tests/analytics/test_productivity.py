"""Lines by language (and model, repository) on the hand-computed dataset (tests/analytics/data.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ccmon.analytics import InvalidQuery, Query, TimeRange
from ccmon.analytics.productivity import lines_by
from ccmon.ingest.writer import BatchWriter
from tests.analytics.data import FIRST_HOUR, SECOND_DAY, load_second_day


def test_lines_by_language_as_claude_code_sends_them(loaded: BatchWriter) -> None:
    # Claude Code's lines counter has no language attribute: one (unknown) row holding every line.
    rows = lines_by(loaded.store, Query(FIRST_HOUR), "language").rows
    assert [(r.key, r.lines_added, r.lines_removed) for r in rows] == [("(unknown)", 12, 3)]


def test_lines_by_language_when_the_data_points_carry_one(loaded: BatchWriter) -> None:
    load_second_day(loaded)
    rows = lines_by(loaded.store, Query(SECOND_DAY), "language").rows
    # Python 10 + 2 and TypeScript 5 + 7 changed lines tie, then by name; s4's line had no language.
    assert [(r.key, r.lines_added, r.lines_removed) for r in rows] == [
        ("Python", 10, 2),
        ("TypeScript", 5, 7),
        ("(unknown)", 1, 0),
    ]
    by_repository = lines_by(loaded.store, Query(SECOND_DAY), "repository").rows
    assert [(r.key, r.lines_added, r.lines_removed) for r in by_repository] == [
        ("ccmon", 10, 2),
        ("web", 5, 7),
        ("(unknown)", 1, 0),
    ]
    empty = Query(TimeRange(datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 1, 2, tzinfo=UTC)))
    assert lines_by(loaded.store, empty).rows == []
    with pytest.raises(InvalidQuery, match="by: 'team'"):
        lines_by(loaded.store, Query(SECOND_DAY), "team")
