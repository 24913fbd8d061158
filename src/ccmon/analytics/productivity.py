"""Productivity: lines added and removed, by language, model or repository.

From the `claude_code.lines_of_code.count` counter. Claude Code sends it with `type` (added/removed), `model` from
2.1.172 and the `vcs.*` repository attributes from 2.1.269 when asked to, but no `language`: only the code-edit
decisions carry one (see `people.acceptance` by language). Lines are grouped by whatever the data points carry, so
with today's Claude Code `by=language` answers a single `(unknown)` row, and languages appear as soon as data points
bring a `language` attribute.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel

from ccmon.analytics.query import Query, label_sql
from ccmon.analytics.results import integer
from ccmon.analytics.rollup import rollup_rows
from ccmon.analytics.timerange import InvalidQuery
from ccmon.store.facade import Store
from ccmon.store.rollups import METRICS

LINES = "claude_code.lines_of_code.count"

LINE_DIMENSIONS: Mapping[str, str] = {
    "language": "language",
    "model": "model",
    "repository": "repository",
    "project": "project",
}
"""API name -> column (of metric_points and metrics_by_hour), for the attributes the lines counter may carry."""


class Lines(BaseModel):
    key: str
    lines_added: int
    lines_removed: int


class LinesBreakdown(BaseModel):
    by: str
    rows: list[Lines]


def lines_by(store: Store, query: Query, by: str = "language") -> LinesBreakdown:
    """Lines added and removed per language (or model, repository or project), most lines changed first."""
    if by not in LINE_DIMENSIONS:
        raise InvalidQuery(f"by: {by!r} is not one of {', '.join(LINE_DIMENSIONS)}")
    source, params = rollup_rows(
        METRICS, query, uses=("metric_name", "type", LINE_DIMENSIONS[by]), where="metric_name = {metric:String}"
    )
    rows = store.query(
        f"SELECT {label_sql(LINE_DIMENSIONS[by])} AS key, sumIf(value, type = 'added') AS added, "
        f"sumIf(value, type = 'removed') AS removed FROM ({source}) GROUP BY key ORDER BY added + removed DESC, key",
        params | {"metric": LINES},
    )
    return LinesBreakdown(
        by=by, rows=[Lines(key=key, lines_added=integer(a), lines_removed=integer(r)) for key, a, r in rows]
    )
