"""People and teams: the leaderboard, team comparison, and code-edit acceptance by tool, source and language.

A scope of aggregates only (the viewer) gets the team comparison and acceptance by tool, source or language, and a
403 for anything per person: the leaderboard of people, acceptance by person, a person's profile.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ccmon.analytics.cost import Breakdown, cost_by
from ccmon.analytics.engineering import Tools, tools
from ccmon.analytics.overview import Overview, overview
from ccmon.analytics.paging import Page, fetch_page
from ccmon.analytics.query import Query, label, label_sql, latest_sql
from ccmon.analytics.results import integer, number, ratio
from ccmon.analytics.rollup import rollup_rows
from ccmon.analytics.summary import Decisions
from ccmon.analytics.timerange import InvalidQuery
from ccmon.store.facade import Store
from ccmon.store.rollups import EXACT_ZERO, METRICS, SESSIONS

_EDIT = "claude_code.code_edit_tool.decision"

# One row per person (or team) from the counters, and sessions from counters and events alike (both rollups). Rows
# without the key are one row, labelled `(unknown)` when read (grouping by the column itself is faster), so the rows
# add up to the summary. Ratios in Float64 over exact sums.
_LEADERBOARD = """
SELECT
    key,
    {team} AS team,
    sumIf(value, metric_name = 'claude_code.pull_request.count') AS pull_requests,
    sumIf(value, metric_name = 'claude_code.commit.count') AS commits,
    sumIf(value, metric_name = 'claude_code.lines_of_code.count' AND type = 'added') AS lines_added,
    sumIf(value, metric_name = 'claude_code.lines_of_code.count' AND type = 'removed') AS lines_removed,
    sumIf(value, metric_name = 'claude_code.cost.usage') AS cost_usd,
    sumIf(value, metric_name = 'claude_code.token.usage') AS tokens,
    if(pull_requests > 0, toFloat64(cost_usd) / toFloat64(pull_requests), NULL) AS cost_per_pull_request,
    sumIf(value, metric_name = '{edit}' AND decision = 'accept') AS accepted,
    sumIf(value, metric_name = '{edit}' AND decision = 'reject') AS rejected,
    if(accepted + rejected > 0, toFloat64(accepted) / toFloat64(accepted + rejected), NULL) AS accept_rate,
    uniqExactIf(session_id, session_id != '') AS sessions,
    sumIf(value, metric_name = 'claude_code.active_time.total') AS active_time_s
FROM (
    SELECT {key} AS key, hour, team AS team_of, metric_name, type, decision, value, '' AS session_id
    FROM ({metrics})
    UNION ALL
    SELECT {key} AS key, hour, team AS team_of, '' AS metric_name, '' AS type, '' AS decision,
           {zero} AS value, session_id
    FROM ({sessions})
)
GROUP BY key
"""

SORTABLE = (
    "key",
    "team",
    "pull_requests",
    "commits",
    "lines_added",
    "lines_removed",
    "cost_usd",
    "tokens",
    "cost_per_pull_request",
    "accept_rate",
    "sessions",
    "active_time_s",
)


class Standing(BaseModel):
    key: str
    """The person key (email, else account uuid, else user id), or the team; `(unknown)` for the rows without one."""
    team: str
    """The team (of a person: the one of their latest data)."""
    pull_requests: int
    commits: int
    lines_added: int
    lines_removed: int
    cost_usd: float
    tokens: int
    """Tokens of every type (input, output, cache read, cache creation)."""
    cost_per_pull_request: float | None
    edit_decisions: Decisions
    accept_rate: float | None
    """Accepted / all code-edit decisions."""
    sessions: int
    active_time_s: float


def _standing(row: tuple[Any, ...]) -> Standing:
    """A `Standing` from a row of `_LEADERBOARD`."""
    key, team, prs, commits, added, removed, cost, tokens, per_pr, accepted, rejected, rate, sessions, active = row
    return Standing(
        key=label(key),
        team=label(team),
        pull_requests=integer(prs),
        commits=integer(commits),
        lines_added=integer(added),
        lines_removed=integer(removed),
        cost_usd=number(cost),
        tokens=integer(tokens),
        cost_per_pull_request=None if per_pr is None else number(per_pr),
        edit_decisions=Decisions(accept=integer(accepted), reject=integer(rejected)),
        accept_rate=None if rate is None else number(rate),
        sessions=integer(sessions),
        active_time_s=number(active),
    )


class Leaderboard(BaseModel):
    group: str
    total: int
    """Rows across all pages."""
    rows: list[Standing]


def leaderboard(
    store: Store,
    query: Query,
    *,
    group: str = "person",
    sort: str = "cost_usd",
    descending: bool = True,
    limit: int = 50,
    offset: int = 0,
) -> Leaderboard:
    """People (or teams) with their output, cost and acceptance; sortable by any column, paged."""
    if group not in {"person", "team"}:
        raise InvalidQuery(f"group: {group!r} is not person or team")
    if group == "person":
        query.scope.require_per_person("the leaderboard of people")
    if sort not in SORTABLE:
        raise InvalidQuery(f"sort: {sort!r} is not one of {', '.join(SORTABLE)}")
    page = Page(limit, offset)
    metrics, metric_params = rollup_rows(METRICS, query, uses=(group, "team", "metric_name", "type", "decision"))
    sessions, session_params = rollup_rows(SESSIONS, query, uses=(group, "team", "session_id"))
    rows, total = fetch_page(
        store,
        _LEADERBOARD.format(
            edit=_EDIT,
            key=group,
            team=latest_sql("team_of", "hour"),
            zero=EXACT_ZERO,
            metrics=metrics,
            sessions=sessions,
        ),
        metric_params | session_params,
        order_by=f"{sort} {'DESC' if descending else 'ASC'} NULLS LAST, key",
        page=page,
    )
    standings = [_standing(row) for row in rows]
    return Leaderboard(group=group, total=total, rows=standings)


class Acceptance(BaseModel):
    key: str
    accepted: int
    rejected: int
    accept_rate: float | None


class AcceptanceBreakdown(BaseModel):
    by: str
    rows: list[Acceptance]


_ACCEPTANCE_COLUMNS = {"tool": "tool_name", "source": "decision_source", "language": "language", "person": "person"}


def acceptance(store: Store, query: Query, by: str) -> AcceptanceBreakdown:
    """Code-edit decisions (Edit, Write, NotebookEdit) accepted and rejected, by tool, source, language or person."""
    if by not in _ACCEPTANCE_COLUMNS:
        raise InvalidQuery(f"by: {by!r} is not one of {', '.join(_ACCEPTANCE_COLUMNS)}")
    if by == "person":
        query.scope.require_per_person("acceptance by person")
    column = _ACCEPTANCE_COLUMNS[by]
    source, params = rollup_rows(
        METRICS, query, uses=("metric_name", "decision", column), where="metric_name = {metric:String}"
    )
    rows = store.query(
        f"SELECT {label_sql(column)} AS key, sumIf(value, decision = 'accept') AS accepted, "
        f"sumIf(value, decision = 'reject') AS rejected FROM ({source}) "
        "GROUP BY key ORDER BY accepted + rejected DESC, key",
        params | {"metric": _EDIT},
    )
    return AcceptanceBreakdown(
        by=by,
        rows=[
            Acceptance(
                key=key,
                accepted=integer(a),
                rejected=integer(r),
                accept_rate=ratio(number(a), number(a) + number(r)),
            )
            for key, a, r in rows
        ],
    )


class Profile(BaseModel):
    """Everything about one person in the range."""

    person: str
    overview: Overview
    cost_by_model: Breakdown
    tools: Tools
    acceptance_by_tool: AcceptanceBreakdown


def profile(store: Store, query: Query, person: str) -> Profile:
    query.scope.require_per_person("a person's profile")
    mine = query.with_filter("person", person)
    return Profile(
        person=person,
        overview=overview(store, mine),
        cost_by_model=cost_by(store, mine, "model", top=None),
        tools=tools(store, mine),
        acceptance_by_tool=acceptance(store, mine, "tool"),
    )
