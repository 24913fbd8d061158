"""The evidence behind the weekly report's recommendations (`ccmon.reports.recommendations`).

Two questions the other analytics do not answer:
- per model, the API requests and their tokens, and how many of them were *short* (few output tokens): what moving
  simple requests to a cheaper model or caching more would change is priced from these tokens;
- per session, its cost and totals (`session_totals`, the session list's one definition) next to what it produced
  (lines, commits, pull requests, from the counters) and how its requests failed (errors, retries exhausted, the
  highest retry attempt), so sessions that cost much and produced nothing, or that looped on failing requests, can
  be named.

Both read the raw tables over one week at most: the rollups keep neither a request's output tokens nor a session's
lines.
"""

from __future__ import annotations

from pydantic import BaseModel

from ccmon.analytics.query import Query, label
from ccmon.analytics.results import integer, number
from ccmon.analytics.session_totals import session_totals
from ccmon.store.facade import Store

SHORT_OUTPUT_TOKENS = 1000
"""A request answered with at most this many output tokens counts as short (a simple question, a small edit)."""


class TokenCounts(BaseModel):
    requests: int
    cost_usd: float
    input: int
    output: int
    cache_read: int
    cache_creation: int


class ModelUsage(BaseModel):
    model: str
    all: TokenCounts
    short: TokenCounts
    """The requests with at most `SHORT_OUTPUT_TOKENS` output tokens."""


class SessionOutcome(BaseModel):
    session_id: str
    person: str
    cost_usd: float
    api_requests: int
    api_errors: int
    retries_exhausted: int
    max_attempt: int
    lines_changed: int
    commits: int
    pull_requests: int


_COLUMNS = ("cost_usd", "input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens")
_SUMS = ", ".join(["count()", *(f"sum({column})" for column in _COLUMNS)])
_SHORT = "output_tokens <= {short:UInt64}"
_SHORT_SUMS = ", ".join([f"countIf({_SHORT})", *(f"sumIf({column}, {_SHORT})" for column in _COLUMNS)])


def model_usage(store: Store, query: Query) -> list[ModelUsage]:
    """Per model, its API requests (all and short ones) with their cost and tokens, most expensive first."""
    where, params = query.where()
    rows = store.query(
        f"SELECT model, {_SUMS}, {_SHORT_SUMS} FROM events WHERE event_name = 'api_request' AND {where} "
        "GROUP BY model ORDER BY sum(cost_usd) DESC, model",
        params | {"short": SHORT_OUTPUT_TOKENS},
    )
    return [ModelUsage(model=label(str(row[0])), all=_counts(row[1:7]), short=_counts(row[7:13])) for row in rows]


def _counts(values: tuple[object, ...]) -> TokenCounts:
    requests, cost, t_in, t_out, t_read, t_create = values
    return TokenCounts(
        requests=integer(requests),
        cost_usd=number(cost),
        input=integer(t_in),
        output=integer(t_out),
        cache_read=integer(t_read),
        cache_creation=integer(t_create),
    )


def session_outcomes(store: Store, query: Query, *, min_cost_usd: float, min_errors: int) -> list[SessionOutcome]:
    """The sessions that cost at least `min_cost_usd`, or had at least `min_errors` API errors or exhausted their
    retries, with what they produced; most expensive first (at most 200)."""
    query.scope.require_per_person("sessions in the weekly report")
    totals, params = session_totals(query)
    where, where_params = query.where()
    # What a session produced, whatever the filters: commits and pull requests carry no model or provider, so a
    # model filter would make every costly session look like it produced nothing (`t` already picks the sessions).
    output_where, output_params = Query(query.time_range, query.scope).where()
    rows = store.query(
        f"""
SELECT t.session_id, t.person, t.cost_usd, t.api_requests, t.errors, f.exhausted, f.max_attempt,
       o.lines, o.commits, o.pull_requests
FROM ({totals}) AS t
LEFT JOIN (
    SELECT session_id,
           sumIf(value, metric_name = 'claude_code.lines_of_code.count') AS lines,
           sumIf(value, metric_name = 'claude_code.commit.count') AS commits,
           sumIf(value, metric_name = 'claude_code.pull_request.count') AS pull_requests
    FROM metric_points
    WHERE metric_name IN ('claude_code.lines_of_code.count', 'claude_code.commit.count',
                          'claude_code.pull_request.count') AND {output_where}
    GROUP BY session_id
) AS o ON o.session_id = t.session_id
LEFT JOIN (
    SELECT session_id, countIf(event_name = 'api_retries_exhausted') AS exhausted,
           max(ifNull(attempt, 0)) AS max_attempt
    FROM events
    WHERE event_name IN ('api_error', 'api_retries_exhausted') AND {where}
    GROUP BY session_id
) AS f ON f.session_id = t.session_id
WHERE t.session_id != ''
  AND (t.cost_usd >= {{min_cost:Float64}} OR t.errors >= {{min_errors:UInt64}} OR f.exhausted > 0)
ORDER BY t.cost_usd DESC, t.session_id
LIMIT 200
""",
        params | where_params | output_params | {"min_cost": min_cost_usd, "min_errors": min_errors},
    )
    return [
        SessionOutcome(
            session_id=str(session),
            person=label(str(person)),
            cost_usd=number(cost),
            api_requests=integer(requests),
            api_errors=integer(errors),
            retries_exhausted=integer(exhausted),
            max_attempt=integer(attempt),
            lines_changed=integer(lines),
            commits=integer(commits),
            pull_requests=integer(prs),
        )
        for session, person, cost, requests, errors, exhausted, attempt, lines, commits, prs in rows
    ]
