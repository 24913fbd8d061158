"""Cost and tokens: over time by model or model family, broken down by any dimension, efficiency, and month-end.

All from the `claude_code.cost.usage` and `claude_code.token.usage` counters (stored as increments), read through the
metric rollups, whose sums are exact decimals: every breakdown adds up to the summary's cost to the digit.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel

from ccmon.analytics.query import DIMENSIONS, Query, bucket_sql, label_sql
from ccmon.analytics.results import Point, TimeSeries, integer, number, ratio, utc
from ccmon.analytics.rollup import rollup_rows
from ccmon.analytics.timerange import InvalidQuery, TimeRange
from ccmon.store.facade import Store
from ccmon.store.rollups import METRICS

COST = "claude_code.cost.usage"
TOKENS = "claude_code.token.usage"
REST = "(rest)"

# Model family from the model name: Claude Code sends names like `claude-sonnet-4-5` or `claude-opus-5-5[1m]`.
FAMILY_SQL = (
    "multiIf(positionCaseInsensitive(model, 'opus') > 0, 'opus', positionCaseInsensitive(model, 'sonnet') > 0, "
    "'sonnet', positionCaseInsensitive(model, 'haiku') > 0, 'haiku', 'other')"
)
_TOKEN_TYPES = (
    "transform(type, ['input', 'output', 'cacheRead', 'cacheCreation'], "
    "['input', 'output', 'cache_read', 'cache_creation'], type)"
)


def cost_over_time(store: Store, query: Query, by: str = "model") -> TimeSeries:
    """Cost per bucket, one series per model (`by=model`) or model family (`by=family`)."""
    if by not in {"model", "family"}:
        raise InvalidQuery(f"by: {by!r} is not model or family")
    series = "model" if by == "model" else FAMILY_SQL
    return _series(store, query, label_sql(series), COST, uses=("model",))


def tokens_over_time(store: Store, query: Query) -> TimeSeries:
    """Tokens per bucket, one series per token type (input, output, cache_read, cache_creation)."""
    return _series(store, query, _TOKEN_TYPES, TOKENS, uses=("type",))


def _series(store: Store, query: Query, series_sql: str, metric: str, uses: tuple[str, ...]) -> TimeSeries:
    bucket = query.chosen_bucket
    source, params = rollup_rows(
        METRICS, query, uses=("metric_name", *uses), bucket=bucket, where="metric_name = {metric:String}"
    )
    rows = store.query(
        f"SELECT {bucket_sql(bucket, 'hour')} AS t, {series_sql} AS series, sum(value) AS value FROM ({source}) "
        "GROUP BY t, series ORDER BY t, series",
        params | {"metric": metric},
    )
    return TimeSeries(
        bucket=bucket,
        rows=[Point(t=utc(t), series=s, value=number(v)) for t, s, v in rows],
    )


class Share(BaseModel):
    key: str
    cost_usd: float
    share: float
    """Fraction of the total cost of the range (0..1)."""


class Breakdown(BaseModel):
    dimension: str
    total_cost_usd: float
    rows: list[Share]


def cost_by(store: Store, query: Query, dimension: str, top: int | None = 10) -> Breakdown:
    """Cost per value of a dimension (person, team, ..., or `family`), largest first; beyond `top`, one `(rest)`."""
    if dimension == "family":
        column, uses = FAMILY_SQL, "model"
    elif dimension in DIMENSIONS:
        column = uses = DIMENSIONS[dimension]
    else:
        raise InvalidQuery(f"by: {dimension!r} is not one of family, {', '.join(DIMENSIONS)}")
    if dimension == "person":
        query.scope.require_per_person("cost by person")
    if top is not None and not 1 <= top <= 1000:
        raise InvalidQuery("top: must be between 1 and 1000")
    source, params = rollup_rows(METRICS, query, uses=("metric_name", uses), where="metric_name = {metric:String}")
    rows = store.query(
        f"SELECT {label_sql(column)} AS key, sum(value) AS cost FROM ({source}) "
        "GROUP BY key HAVING cost != 0 ORDER BY cost DESC, key",
        params | {"metric": COST},
    )
    shares: list[tuple[str, Decimal]] = [(str(k), Decimal(c)) for k, c in rows]
    total = sum((c for _, c in shares), Decimal(0))  # exact: the summary's cost
    if top is not None and len(shares) > top:
        shares = [*shares[:top], (REST, sum((c for _, c in shares[top:]), Decimal(0)))]
    return Breakdown(
        dimension=dimension,
        total_cost_usd=number(total),
        rows=[Share(key=k, cost_usd=number(c), share=ratio(number(c), number(total)) or 0.0) for k, c in shares],
    )


class Efficiency(BaseModel):
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_creation_tokens: int
    cache_efficiency: float | None
    """cache_read / (input + cache_creation + cache_read): the share of all prompt tokens served from the cache
    (Anthropic's `input` counts neither the tokens read from the cache nor those written to it)."""
    token_efficiency: float | None
    """output / input."""
    cost_per_million_tokens: float | None
    """cost / (input + output + cache_read + cache_creation) x 1,000,000: tokens of every type, cache included."""


def efficiency(store: Store, query: Query) -> Efficiency:
    source, params = rollup_rows(
        METRICS, query, uses=("metric_name", "type"), where="metric_name IN ({tokens:String}, {cost:String})"
    )
    ((t_in, t_out, t_read, t_create, cost),) = store.query(
        "SELECT sumIf(value, metric_name = {tokens:String} AND type = 'input'), "
        "sumIf(value, metric_name = {tokens:String} AND type = 'output'), "
        "sumIf(value, metric_name = {tokens:String} AND type = 'cacheRead'), "
        "sumIf(value, metric_name = {tokens:String} AND type = 'cacheCreation'), "
        "sumIf(value, metric_name = {cost:String}) "
        f"FROM ({source})",
        params | {"tokens": TOKENS, "cost": COST},
    )
    i, o, r, c = integer(t_in), integer(t_out), integer(t_read), integer(t_create)
    return Efficiency(
        input_tokens=i,
        output_tokens=o,
        cache_read_tokens=r,
        cache_creation_tokens=c,
        cache_efficiency=ratio(r, i + c + r),
        token_efficiency=ratio(o, i),
        cost_per_million_tokens=ratio(number(cost) * 1_000_000, i + o + r + c),
    )


class MonthToDate(BaseModel):
    month_start: datetime
    as_of: datetime
    spend_usd: float
    trailing_7d_daily_usd: float
    """Average daily spend over the 7 days up to `as_of`."""
    projected_month_end_usd: float
    method: str


PROJECTION_METHOD = (
    "month-to-date spend + average daily spend of the last 7 days x days left in the month (a run rate that follows "
    "recent weeks rather than a slow start of the month)"
)


def month_to_date(store: Store, query: Query, now: datetime | None = None) -> MonthToDate:
    """Spend since the first of the month (UTC) and a projection to its end; the query's range is not used."""
    as_of = (now or datetime.now(UTC)).astimezone(UTC)
    month_start = as_of.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    month_end = month_start + timedelta(days=calendar.monthrange(as_of.year, as_of.month)[1])
    spend = total_cost(store, query.with_range(TimeRange(month_start, as_of)))
    week = total_cost(store, query.with_range(TimeRange(as_of - timedelta(days=7), as_of)))
    daily = week / 7
    return MonthToDate(
        month_start=month_start,
        as_of=as_of,
        spend_usd=spend,
        trailing_7d_daily_usd=daily,
        projected_month_end_usd=spend + daily * (month_end - as_of).total_seconds() / 86_400,
        method=PROJECTION_METHOD,
    )


def total_cost(store: Store, query: Query) -> float:
    """The cost of the query's range, scope and filters."""
    source, params = rollup_rows(METRICS, query, uses=("metric_name",), where="metric_name = {metric:String}")
    rows = store.query(f"SELECT sum(value) FROM ({source})", params | {"metric": COST})
    return number(rows[0][0])
