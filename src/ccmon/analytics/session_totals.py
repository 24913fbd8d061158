"""The one definition of a session's totals, shared by the session list and the session analytics.

Every per-session number (the list, sessions by project, the distributions) is computed from `session_totals`, read
from the sessions rollups.
"""

from __future__ import annotations

from typing import Any

from ccmon.analytics.query import Query, latest_sql
from ccmon.analytics.rollup import rollup_rows
from ccmon.store.rollups import SESSIONS

COLUMNS = (
    "session_id",
    "person",
    "team",
    "repository",
    "project",
    "started",
    "ended",
    "duration_s",
    "prompts",
    "api_requests",
    "errors",
    "tool_calls",
    "cost_usd",
    "tokens",
)
"""The columns of `session_totals`, in order."""

NO_SESSION = "session_id = ''"
"""SQL over `session_totals`: the row of the data that carries no session id."""


def session_totals(query: Query) -> tuple[str, dict[str, Any]]:
    """A SELECT giving one row per session (`COLUMNS`) over the query's range, scope and filters; its parameters.

    From the sessions rollups (events and data points alike). A session's rows are those with its id in the
    range: started and ended are its first and last row there; prompts, requests, errors and tool calls are counted
    from the events, cost and tokens summed from the counters (as everywhere else). Person, team, repository and
    project are those of its latest row that has one: Claude Code derives the repository once per session, and sends
    it only when asked to (see docs/api.md), so rows without one must not blank it.

    Data without a session id is one more row, with an empty id (`NO_SESSION`), so the rows add up to the summary;
    it is not a session, and its duration is null. Every measure is exact (counts, and decimals: the duration to the
    millisecond), so sums over sessions do not depend on their order. Empty values are labelled `(unknown)` by whoever
    shows them.
    """
    source, params = rollup_rows(SESSIONS, query, uses=("session_id", "person", "team", "repository", "project"))
    latest = {column: latest_sql(column, "last_ts") for column in ("person", "team", "repository", "project")}
    sql = f"""
SELECT
    session_id,
    {latest["person"]} AS person,
    {latest["team"]} AS team,
    {latest["repository"]} AS repository,
    {latest["project"]} AS project,
    min(first_ts) AS started,
    max(last_ts) AS ended,
    if({NO_SESSION}, NULL, toDecimal128(dateDiff('millisecond', started, ended), 3) / 1000) AS duration_s,
    sum(prompts) AS prompts,
    sum(api_requests) AS api_requests,
    sum(errors) AS errors,
    sum(tool_calls) AS tool_calls,
    sum(cost_usd) AS cost_usd,
    sum(tokens) AS tokens
FROM ({source})
GROUP BY session_id
"""
    return sql, params
