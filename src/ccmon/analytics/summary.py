"""The headline numbers of a time range: cost, tokens, activity, output and decisions.

Where each number comes from (Claude Code sends some facts twice, as a counter and as an event):
- cost, tokens, lines, commits, pull requests, edit decisions and active time: the counters (`claude_code.*`
  metrics), summed as increments; cumulative exports were turned into increments on ingest.
- API requests and errors, tool decisions and tool calls: the `api_request`, `api_error`, `tool_decision` and
  `tool_result` events; there is no counter for them.
- sessions and users: distinct session ids and person keys across both.

Each is read through the smallest rollup that has the columns it needs (`analytics.rollup`). Sums are exact decimals
(`store.rollups.exact`), so the same question gets the same digits every time. Rows without a person or session
count in every total, but not as a user or a session.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel

from ccmon.analytics.query import Query
from ccmon.analytics.results import integer, number
from ccmon.analytics.rollup import rollup_rows
from ccmon.store.facade import Store
from ccmon.store.rollups import EVENTS, METRICS, SESSIONS, Rollup


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
FROM ({source})
"""

_EVENTS = """
SELECT
    sumIf(events, event_name = 'api_request'),
    sumIf(events, event_name = 'api_error'),
    sumIf(events, event_name = 'tool_decision' AND decision = 'accept'),
    sumIf(events, event_name = 'tool_decision' AND decision = 'reject'),
    sumIf(events, event_name = 'tool_result')
FROM ({source})
"""

_DISTINCT = """
SELECT uniqExactIf(session_id, session_id != ''), uniqExactIf(person, person != '')
FROM ({source})
"""


def summary(store: Store, query: Query) -> Summary:
    def run(template: str, tiers: tuple[Rollup, ...], *uses: str) -> Callable[[], tuple[object, ...]]:
        source, params = rollup_rows(tiers, query, uses=uses)
        return lambda: store.query(template.format(source=source), params)[0]

    # Three independent reads, side by side.
    counters, events, distinct = store.parallel(
        run(_COUNTERS, METRICS, "metric_name", "type", "decision"),
        run(_EVENTS, EVENTS, "event_name", "decision"),
        run(_DISTINCT, SESSIONS, "session_id", "person"),
    )
    cost, t_in, t_out, t_read, t_create, added, removed, commits, prs, e_acc, e_rej, a_user, a_cli = counters
    requests, errors, d_acc, d_rej, tool_calls = events
    sessions, users = distinct
    return Summary(
        cost_usd=number(cost),
        tokens=Tokens(
            input=integer(t_in), output=integer(t_out), cache_read=integer(t_read), cache_creation=integer(t_create)
        ),
        sessions=integer(sessions),
        users=integer(users),
        api_requests=integer(requests),
        api_errors=integer(errors),
        lines_added=integer(added),
        lines_removed=integer(removed),
        commits=integer(commits),
        pull_requests=integer(prs),
        edit_decisions=Decisions(accept=integer(e_acc), reject=integer(e_rej)),
        tool_decisions=Decisions(accept=integer(d_acc), reject=integer(d_rej)),
        tool_calls=integer(tool_calls),
        active_time_s=ActiveTime(user=number(a_user), cli=number(a_cli)),
    )
