"""Engineering views over whole sessions: sessions by project, and how a per-session measure is distributed.

Both read the per-session totals of `session_totals` (the session list's numbers). Percentiles are exact and
interpolated between the closest ranks, as in `engineering.py`; the highest-token sessions are the session list
sorted by tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise

from pydantic import BaseModel

from ccmon.analytics.histogram import bin_sql, linear_edges, log_edges
from ccmon.analytics.query import Query, label_sql
from ccmon.analytics.results import integer, number
from ccmon.analytics.session_totals import NO_SESSION, session_totals
from ccmon.analytics.timerange import InvalidQuery
from ccmon.store.facade import Store


class ProjectSessions(BaseModel):
    project: str
    """`(unknown)` for sessions that sent none (see the `project_attributes` setting)."""
    sessions: int
    users: int
    prompts: int
    cost_usd: float
    tokens: int


class SessionsByProject(BaseModel):
    rows: list[ProjectSessions]


def sessions_by_project(store: Store, query: Query) -> SessionsByProject:
    """Sessions, people, prompts, cost and tokens per project, most sessions first. The data without a session id
    counts in its project's cost, tokens and prompts, not as a session."""
    totals, params = session_totals(query)
    rows = store.query(
        f"SELECT {label_sql('project')} AS name, countIf(NOT {NO_SESSION}) AS n, uniqExactIf(person, person != ''), "
        f"sum(prompts), sum(cost_usd), sum(tokens) FROM ({totals}) GROUP BY name ORDER BY n DESC, name",
        params,
    )
    return SessionsByProject(
        rows=[
            ProjectSessions(
                project=project,
                sessions=integer(n),
                users=integer(users),
                prompts=integer(prompts),
                cost_usd=number(cost),
                tokens=integer(tokens),
            )
            for project, n, users, prompts, cost, tokens in rows
        ]
    )


MEASURES: Mapping[str, bool] = {
    "duration_s": False,
    "prompts": True,
    "tokens": True,
    "cost_usd": False,
    "tool_calls": True,
}
"""The per-session measures one can ask the distribution of (columns of the session totals), and whether each is a
count (whole numbers)."""
SCALES = ("linear", "log")
MAX_BINS = 100


class Bin(BaseModel):
    lower: float
    upper: float
    """Exclusive, except for the last bin."""
    sessions: int


class Distribution(BaseModel):
    measure: str
    scale: str
    sessions: int
    mean: float | None
    min: float | None
    max: float | None
    p50: float | None
    p90: float | None
    p99: float | None
    rows: list[Bin]
    """The histogram, lowest bin first, empty bins included."""


def session_distribution(
    store: Store, query: Query, measure: str, *, bins: int = 20, scale: str = "linear"
) -> Distribution:
    """Count, mean, extremes, p50/p90/p99 and a histogram of one measure over the sessions active in the range."""
    if measure not in MEASURES:
        raise InvalidQuery(f"measure: {measure!r} is not one of {', '.join(MEASURES)}")
    if scale not in SCALES:
        raise InvalidQuery(f"scale: {scale!r} is not one of {', '.join(SCALES)}")
    if not 1 <= bins <= MAX_BINS:
        raise InvalidQuery(f"bins: must be between 1 and {MAX_BINS}")
    totals, params = session_totals(query)
    # Sessions only. The measures are exact (counts, decimals), so their sum does not depend on the order of the rows.
    values = f"SELECT toFloat64({measure}) AS v, {measure} AS exact FROM ({totals}) WHERE NOT {NO_SESSION}"
    ((count, total, low, high, low_positive, quantiles),) = store.query(
        "SELECT count(), sum(exact), min(v), max(v), minIf(v, v > 0), quantilesExactInclusive(0.5, 0.9, 0.99)(v) "
        f"FROM ({values})",
        params,
    )
    if not count:
        return Distribution(
            measure=measure,
            scale=scale,
            sessions=0,
            mean=None,
            min=None,
            max=None,
            p50=None,
            p90=None,
            p99=None,
            rows=[],
        )
    low, high = number(low), number(high)
    if scale == "log":
        edges = log_edges(low, high, number(low_positive) if high > 0 else None, bins)
    else:
        edges = linear_edges(low, high, bins, whole=MEASURES[measure])
    counts = dict(
        store.query(
            f"SELECT {bin_sql('v')} AS bin, count() FROM ({values}) GROUP BY bin",
            params | {"histogram_edges": edges},
        )
    )
    p50, p90, p99 = (number(q) for q in quantiles)
    return Distribution(
        measure=measure,
        scale=scale,
        sessions=integer(count),
        mean=number(total) / integer(count),
        min=low,
        max=high,
        p50=p50,
        p90=p90,
        p99=p99,
        rows=[
            Bin(lower=lower, upper=upper, sessions=integer(counts.get(i, 0)))
            for i, (lower, upper) in enumerate(pairwise(edges), start=1)
        ],
    )
