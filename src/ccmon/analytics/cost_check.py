"""Claude Code's reported cost next to the cost recomputed from its tokens by the price table, per model.

Claude Code calls its cost "an approximation": it prices with the table baked into its release, which can lag a
price change, skip a prompt-length tier or not know a model. Recomputing each `api_request` event's cost in the
engine (`PriceTable.sql_cost`) and comparing it with the `cost_usd` the same events carry shows where the two
disagree. A model the table does not know is listed with its tokens and never counted as free.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel

from ccmon.analytics.query import Query, label
from ccmon.analytics.results import integer, number
from ccmon.pricing.table import PriceTable
from ccmon.store.facade import Store

DEFAULT_THRESHOLD = 0.01
"""A difference above 1 % of the reported cost is flagged."""
_NOISE_USD = 1e-9  # float sums of the same figures may differ in the last digits


class ModelCostCheck(BaseModel):
    model: str
    priced_as: str | None
    """The price-table entry that priced the model; null when unknown."""
    requests: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_creation_tokens: int
    reported_cost_usd: float
    """The sum of Claude Code's `cost_usd` on these `api_request` events."""
    recomputed_cost_usd: float | None
    """By the price table; null when any of the requests has no price (unknown model, or a date before its first
    price): unpriced tokens are never counted as free."""
    unpriced_requests: int
    difference_usd: float | None
    """recomputed - reported."""
    difference_pct: float | None
    """difference / reported x 100; null when reported is 0."""
    flagged: bool
    """Unpriced, or the difference is above the threshold."""


class CostCheck(BaseModel):
    prices_checked: date
    """When the shipped price table was last checked against Anthropic's prices."""
    threshold_pct: float
    reported_cost_usd: float
    recomputed_cost_usd: float
    """Over the priced models only (see `unknown_models`)."""
    rows: list[ModelCostCheck]
    """Priced models, largest reported cost first."""
    unknown_models: list[ModelCostCheck]
    """Models (or requests) without a price, with their tokens."""


def cost_check(store: Store, query: Query, prices: PriceTable, threshold: float = DEFAULT_THRESHOLD) -> CostCheck:
    """Reported vs recomputed cost per model over the query's range, scope and filters."""
    where, params = query.where()
    return _check(store, where, params, prices, threshold)


def session_cost_check(
    store: Store, query: Query, prices: PriceTable, session_id: str, threshold: float = DEFAULT_THRESHOLD
) -> CostCheck:
    """The same for one session, whole (the time range does not apply, as for its timeline); scope and filters do."""
    query.scope.require_per_person("a session's cost")
    scope_sql, scope_params = query.scope.sql()
    filter_sql, filter_params = query.filters.sql()
    where = f"session_id = {{cost_check_session:String}} AND {scope_sql} AND {filter_sql}"
    return _check(store, where, scope_params | filter_params | {"cost_check_session": session_id}, prices, threshold)


def _check(store: Store, where: str, params: dict[str, Any], prices: PriceTable, threshold: float) -> CostCheck:
    recomputed = prices.sql_cost(
        model="model",
        ts="ts",
        input_tokens="input_tokens",
        output_tokens="output_tokens",
        cache_read_tokens="cache_read_tokens",
        cache_creation_tokens="cache_creation_tokens",
    )
    rows = store.query(
        "SELECT model, count(), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), "
        "sum(cache_creation_tokens), sum(cost_usd), sum(recomputed), countIf(recomputed IS NULL) "
        f"FROM (SELECT *, {recomputed} AS recomputed FROM events WHERE event_name = 'api_request' AND {where}) "
        "GROUP BY model ORDER BY sum(cost_usd) DESC, model",
        params,
    )
    checks = [_model_check(row, prices, threshold) for row in rows]
    priced = [c for c in checks if c.recomputed_cost_usd is not None]
    return CostCheck(
        prices_checked=prices.checked,
        threshold_pct=threshold * 100,
        reported_cost_usd=number(sum(c.reported_cost_usd for c in checks)),
        recomputed_cost_usd=number(sum(c.recomputed_cost_usd or 0.0 for c in priced)),
        rows=priced,
        unknown_models=[c for c in checks if c.recomputed_cost_usd is None],
    )


def _model_check(row: tuple[Any, ...], prices: PriceTable, threshold: float) -> ModelCostCheck:
    model, requests, t_in, t_out, t_read, t_create, reported, recomputed, unpriced = row
    entry = prices.entry_for(str(model))
    reported_usd = number(reported)
    recomputed_usd = None if integer(unpriced) or recomputed is None else number(recomputed)
    difference = None if recomputed_usd is None else recomputed_usd - reported_usd
    pct = None if difference is None or reported_usd == 0 else difference / reported_usd * 100
    too_far = difference is not None and abs(difference) > max(threshold * abs(reported_usd), _NOISE_USD)
    return ModelCostCheck(
        model=label(model),
        priced_as=entry.name if entry else None,
        requests=integer(requests),
        input_tokens=integer(t_in),
        output_tokens=integer(t_out),
        cache_read_tokens=integer(t_read),
        cache_creation_tokens=integer(t_create),
        reported_cost_usd=reported_usd,
        recomputed_cost_usd=recomputed_usd,
        unpriced_requests=integer(unpriced),
        difference_usd=difference,
        difference_pct=pct,
        flagged=recomputed_usd is None or too_far,
    )
