"""The one definition of a session's totals, shared by the session list and the session analytics.

Every per-session number (the list, sessions by project, the distributions) is computed from `session_totals_sql`, so
moving sessions onto a rollup table later changes this module only.
"""

from __future__ import annotations

COLUMNS = (
    "session_id",
    "person",
    "team",
    "repository",
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
"""The columns of `session_totals_sql`, in order."""


def session_totals_sql(where: str) -> str:
    """A SELECT giving one row per session (`COLUMNS`) over the events and data points matching `where`.

    `where` is a `Query.where()` fragment (its parameters are the caller's to bind). A session's rows are those with
    its id in the range: started and ended are its first and last row there; prompts, requests, errors and tool calls
    are counted from the events, cost and tokens summed from the counters (as everywhere else). The repository is any
    non-empty one among the rows: Claude Code derives it once per session, and sends it only when asked to (see
    docs/api.md), so rows without one must not blank it.
    """
    return f"""
SELECT
    session_id,
    anyLast(person_of) AS person,
    anyLast(team_of) AS team,
    anyLastIf(repository_of, repository_of != '') AS repository,
    min(ts) AS started,
    max(ts) AS ended,
    dateDiff('millisecond', started, ended) / 1000 AS duration_s,
    countIf(event_name = 'user_prompt') AS prompts,
    countIf(event_name = 'api_request') AS api_requests,
    countIf(event_name = 'api_error') AS errors,
    countIf(event_name = 'tool_result') AS tool_calls,
    sumIf(value, metric_name = 'claude_code.cost.usage') AS cost_usd,
    sumIf(value, metric_name = 'claude_code.token.usage') AS tokens
FROM (
    SELECT session_id, person AS person_of, team AS team_of, repository AS repository_of, ts, event_name,
        '' AS metric_name, 0 AS value
    FROM events WHERE {where}
    UNION ALL
    SELECT session_id, person AS person_of, team AS team_of, repository AS repository_of, ts, '' AS event_name,
        metric_name, value
    FROM metric_points WHERE {where}
)
WHERE session_id != ''
GROUP BY session_id
"""
