"""The headline numbers of a time range: cost, tokens, activity, output and decisions.

Where each number comes from (Claude Code sends some facts twice, as a counter and as an event):
- cost, tokens, lines, commits, pull requests, edit decisions and active time: the counters (`claude_code.*`
  metrics), summed as increments; cumulative exports were turned into increments on ingest.
- API requests and errors, tool decisions and tool calls: the `api_request`, `api_error`, `tool_decision` and
  `tool_result` events; there is no counter for them.
- sessions and users: distinct session ids and person keys across both.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel

from ccmon.analytics.scope import Scope
from ccmon.analytics.timerange import TimeRange
from ccmon.store.facade import Store


class Tokens(BaseModel):
    input: int
    output: int
    cache_read: int
    cache_creation: int


class Decisions(BaseModel):
    accept: int
    reject: int


class ActiveTime(BaseModel):
    user: float
    cli: float


class Summary(BaseModel):
    cost_usd: float
    tokens: Tokens
    sessions: int
    users: int
    api_requests: int
    api_errors: int
    lines_added: int
    lines_removed: int
    commits: int
    pull_requests: int
    edit_decisions: Decisions
    tool_decisions: Decisions
    tool_calls: int
    active_time_s: ActiveTime


_COUNTERS = """
SELECT
    sumIf(value, metric_name = 'claude_code.cost.usage'),
    sumIf(value, metric_name = 'claude_code.token.usage' AND type = 'input'),
    sumIf(value, metric_name = 'claude_code.token.usage' AND type = 'output'),
    sumIf(value, metric_name = 'claude_code.token.usage' AND type = 'cacheRead'),
    sumIf(value, metric_name = 'claude_code.token.usage' AND type = 'cacheCreation'),
    sumIf(value, metric_name = 'claude_code.lines_of_code.count' AND type = 'added'),
    sumIf(value, metric_name = 'claude_code.lines_of_code.count' AND type = 'removed'),
    sumIf(value, metric_name = 'claude_code.commit.count'),
    sumIf(value, metric_name = 'claude_code.pull_request.count'),
    sumIf(value, metric_name = 'claude_code.code_edit_tool.decision' AND decision = 'accept'),
    sumIf(value, metric_name = 'claude_code.code_edit_tool.decision' AND decision = 'reject'),
    sumIf(value, metric_name = 'claude_code.active_time.total' AND type = 'user'),
    sumIf(value, metric_name = 'claude_code.active_time.total' AND type = 'cli')
FROM metric_points
WHERE {time} AND {scope}
"""

_EVENTS = """
SELECT
    countIf(event_name = 'api_request'),
    countIf(event_name = 'api_error'),
    countIf(event_name = 'tool_decision' AND decision = 'accept'),
    countIf(event_name = 'tool_decision' AND decision = 'reject'),
    countIf(event_name = 'tool_result')
FROM events
WHERE {time} AND {scope}
"""

_DISTINCT = """
SELECT uniqExactIf(session_id, session_id != ''), uniqExactIf(person, person != '')
FROM (
    SELECT session_id, person FROM events WHERE {time} AND {scope}
    UNION ALL
    SELECT session_id, person FROM metric_points WHERE {time} AND {scope}
)
"""


def summary(store: Store, time_range: TimeRange, scope: Scope) -> Summary:
    time_sql, params = time_range.sql()
    scope_sql, scope_params = scope.sql()
    params |= scope_params

    def run(template: str) -> tuple[object, ...]:
        return store.query(template.format(time=time_sql, scope=scope_sql), params)[0]

    cost, t_in, t_out, t_read, t_create, added, removed, commits, prs, e_acc, e_rej, a_user, a_cli = run(_COUNTERS)
    requests, errors, d_acc, d_rej, tool_calls = run(_EVENTS)
    sessions, users = run(_DISTINCT)
    return Summary(
        cost_usd=round(_float(cost), 10),
        tokens=Tokens(input=_int(t_in), output=_int(t_out), cache_read=_int(t_read), cache_creation=_int(t_create)),
        sessions=_int(sessions),
        users=_int(users),
        api_requests=_int(requests),
        api_errors=_int(errors),
        lines_added=_int(added),
        lines_removed=_int(removed),
        commits=_int(commits),
        pull_requests=_int(prs),
        edit_decisions=Decisions(accept=_int(e_acc), reject=_int(e_rej)),
        tool_decisions=Decisions(accept=_int(d_acc), reject=_int(d_rej)),
        tool_calls=_int(tool_calls),
        active_time_s=ActiveTime(user=_float(a_user), cli=_float(a_cli)),
    )


def _float(value: object) -> float:
    """A number ClickHouse returned (int, float or Decimal)."""
    return float(value) if isinstance(value, int | float | Decimal) else 0.0


def _int(value: object) -> int:
    return round(_float(value))
