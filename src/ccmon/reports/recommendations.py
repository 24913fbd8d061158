"""Recommendations for the weekly report: each one concrete, naming its evidence, with a dollar estimate for the week.

A recommendation is made only when the week's data shows the problem beyond a threshold (the constants below), so a
quiet week has none. The estimates are what the same week would have cost otherwise, priced with the dated price
table (`ccmon.pricing`) at the week's start:

- model mix: short Opus requests (at most `SHORT_OUTPUT_TOKENS` output tokens) cost what Claude Code reported; the
  same tokens at the Sonnet price are what they would have cost; the difference is the saving;
- cache efficiency: when under `CACHE_TARGET` of a model's prompt tokens were read from the cache, the saving is the
  tokens missing to reach the target, priced as input tokens minus their price as cache reads;
- sessions without output: sessions costing at least `COSTLY_SESSION_USD` with no line changed, no commit and no pull
  request; the estimate is what they cost (spend with nothing to show for it, an upper bound);
- retry loops: sessions with at least `RETRY_LOOP_ERRORS` API errors, or whose retries were exhausted; each failed
  request is sent again, so the estimate is their errors times their average cost per successful request.

Token sums are priced as that many requests of the average size: the table prices one request, and whether its
prompt is long enough for a model's long-prompt prices depends on the request, not on the week's total.
"""

from __future__ import annotations

from pydantic import BaseModel

from ccmon.analytics import Analytics, Filters
from ccmon.analytics.report_evidence import SHORT_OUTPUT_TOKENS, ModelUsage, SessionOutcome
from ccmon.analytics.results import ratio
from ccmon.analytics.scope import Scope
from ccmon.pricing.table import PriceTable
from ccmon.reports.weekly import Week, week_query
from ccmon.text import plural

SONNET = "claude-sonnet-4-5"
"""The model short Opus requests are priced at."""
MIN_SAVING_USD = 1.0
"""A recommendation worth less than this for the week is not made."""
MIN_SHORT_REQUESTS = 20
CACHE_TARGET = 0.8
"""Share of prompt tokens read from the cache that a Claude Code workload reaches (its prompts repeat)."""
CACHE_MIN_PROMPT_TOKENS = 1_000_000
COSTLY_SESSION_USD = 5.0
RETRY_LOOP_ERRORS = 5
LISTED = 5
"""Sessions named in a recommendation's evidence."""


class Recommendation(BaseModel):
    kind: str
    """model_mix, cache_efficiency, sessions_without_output or retry_loops."""
    title: str
    action: str
    evidence: list[str]
    """The numbers (and sessions) it rests on, one line each."""
    estimate_usd: float
    """What the week would have cost less (see the module docstring for each kind's method)."""
    estimate_method: str
    sessions: list[str] = []


def recommendations(
    analytics: Analytics, week: Week, scope: Scope | None = None, filters: Filters | None = None
) -> list[Recommendation]:
    """The week's recommendations, largest estimate first; session-level ones only for a scope that sees sessions.
    Estimates are priced with the table the analytics recompute cost with (`Analytics.prices`)."""
    query = week_query(week, scope, filters)
    usage = analytics.model_usage(query)
    prices = analytics.prices
    found = [*_model_mix(usage, prices, week), *_cache(usage, prices, week)]
    if query.scope.per_person:
        sessions = analytics.session_outcomes(query, min_cost_usd=COSTLY_SESSION_USD, min_errors=RETRY_LOOP_ERRORS)
        found += [*_without_output(sessions), *_retry_loops(sessions)]
    return sorted(found, key=lambda found: -found.estimate_usd)


def _tokens(row: ModelUsage, short: bool = False) -> dict[str, int]:
    counts = row.short if short else row.all
    return {
        "input_tokens": counts.input,
        "output_tokens": counts.output,
        "cache_read_tokens": counts.cache_read,
        "cache_creation_tokens": counts.cache_creation,
    }


def _model_mix(usage: list[ModelUsage], prices: PriceTable, week: Week) -> list[Recommendation]:
    found = []
    for row in usage:
        short = row.short
        if "opus" not in row.model.lower() or short.requests < MIN_SHORT_REQUESTS:
            continue
        at_sonnet = _priced(prices, SONNET, week, short.requests, **_tokens(row, short=True))
        if at_sonnet is None:
            continue
        saving = short.cost_usd - at_sonnet
        if saving < MIN_SAVING_USD:
            continue
        share = ratio(short.requests, row.all.requests) or 0.0
        found.append(
            Recommendation(
                kind="model_mix",
                title=f"Send short requests to Sonnet instead of {row.model}",
                action=(
                    f"{share:.0%} of {row.model}'s requests returned at most {SHORT_OUTPUT_TOKENS:,} output tokens; "
                    "make Sonnet the default model (the /model command, or model in Claude Code's settings) and keep "
                    "Opus for the hard tasks"
                ),
                evidence=[
                    f"{short.requests:,} of {row.all.requests:,} {row.model} requests were short "
                    f"(≤ {SHORT_OUTPUT_TOKENS:,} output tokens)",
                    f"they cost ${short.cost_usd:,.2f}; the same tokens at {SONNET} prices cost ${at_sonnet:,.2f}",
                ],
                estimate_usd=round(saving, 2),
                estimate_method=f"reported cost of the short requests - their tokens priced as {SONNET}",
            )
        )
    return found


def _cache(usage: list[ModelUsage], prices: PriceTable, week: Week) -> list[Recommendation]:
    found = []
    for row in usage:
        counts = row.all
        prompt = counts.input + counts.cache_read + counts.cache_creation
        read_share = ratio(counts.cache_read, prompt)
        if prompt < CACHE_MIN_PROMPT_TOKENS or read_share is None or read_share >= CACHE_TARGET:
            continue
        missing = round(CACHE_TARGET * prompt) - counts.cache_read
        as_input = _priced(prices, row.model, week, counts.requests, input_tokens=missing)
        as_read = _priced(prices, row.model, week, counts.requests, cache_read_tokens=missing)
        if as_input is None or as_read is None or as_input - as_read < MIN_SAVING_USD:
            continue
        found.append(
            Recommendation(
                kind="cache_efficiency",
                title=f"Raise the prompt cache hit rate of {row.model}",
                action=(
                    "Keep sessions going rather than restarting them, avoid editing CLAUDE.md and the tool list "
                    "mid-session, and do not disable prompt caching (DISABLE_PROMPT_CACHING)"
                ),
                evidence=[
                    f"{read_share:.0%} of {row.model}'s {prompt:,} prompt tokens were read from the cache "
                    f"(target {CACHE_TARGET:.0%})",
                    f"{missing:,} more cache reads would reach the target",
                ],
                estimate_usd=round(as_input - as_read, 2),
                estimate_method="missing cache reads x (input price - cache read price)",
            )
        )
    return found


def _priced(prices: PriceTable, model: str, week: Week, requests: int, **tokens: int) -> float | None:
    """Tokens summed over `requests` requests, priced as that many requests of the average size: the table prices
    one request (whether a prompt is long enough for the long-prompt prices depends on one request, not a week)."""
    if requests <= 0:
        return None
    average = {name: round(count / requests) for name, count in tokens.items()}
    one = prices.cost(
        model,
        week.start,
        input_tokens=average.get("input_tokens", 0),
        output_tokens=average.get("output_tokens", 0),
        cache_read_tokens=average.get("cache_read_tokens", 0),
        cache_creation_tokens=average.get("cache_creation_tokens", 0),
    )
    return None if one is None else one * requests


def _without_output(sessions: list[SessionOutcome]) -> list[Recommendation]:
    idle = [
        s
        for s in sessions
        if s.cost_usd >= COSTLY_SESSION_USD and s.lines_changed == 0 and s.commits == 0 and s.pull_requests == 0
    ]
    total = sum(s.cost_usd for s in idle)
    if not idle or total < MIN_SAVING_USD:
        return []
    return [
        Recommendation(
            kind="sessions_without_output",
            title=f"{plural(len(idle), 'costly session')} produced no code",
            action=(
                "Look at these sessions with their owners: exploration that could use a cheaper model, a task "
                "abandoned, or an agent left running"
            ),
            evidence=[
                f"{plural(len(idle), 'session')} of at least ${COSTLY_SESSION_USD:,.2f} changed no line and made no "
                f"commit or pull request, together ${total:,.2f}",
                *(f"session {s.session_id} ({s.person}): ${s.cost_usd:,.2f}" for s in idle[:LISTED]),
            ],
            estimate_usd=round(total, 2),
            estimate_method="their whole cost (an upper bound: some exploration is worth paying for)",
            sessions=[s.session_id for s in idle[:LISTED]],
        )
    ]


def _retry_loops(sessions: list[SessionOutcome]) -> list[Recommendation]:
    looping = [s for s in sessions if s.api_errors >= RETRY_LOOP_ERRORS or s.retries_exhausted > 0]
    wasted = sum(s.api_errors * (ratio(s.cost_usd, s.api_requests) or 0.0) for s in looping)
    if not looping or wasted < MIN_SAVING_USD:
        return []
    looping.sort(key=lambda s: -s.api_errors)
    return [
        Recommendation(
            kind="retry_loops",
            title=f"{plural(len(looping), 'session')} kept retrying failing API requests",
            action=(
                "Check rate limits and overload (429/529) for these people; lower concurrency or spread work, and "
                "stop sessions that loop on the same failure"
            ),
            evidence=[
                f"{plural(sum(s.api_errors for s in looping), 'API error')} in {plural(len(looping), 'session')}, "
                f"{sum(s.retries_exhausted for s in looping):,} with retries exhausted",
                *(
                    f"session {s.session_id} ({s.person}): {s.api_errors:,} errors, highest attempt "
                    f"{s.max_attempt}, ${s.cost_usd:,.2f}"
                    for s in looping[:LISTED]
                ),
            ],
            estimate_usd=round(wasted, 2),
            estimate_method="API errors x the session's average cost per successful request",
            sessions=[s.session_id for s in looping[:LISTED]],
        )
    ]
