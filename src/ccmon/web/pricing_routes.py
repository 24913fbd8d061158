"""The price table in effect and the reported-vs-recomputed cost check over HTTP:

- `GET /api/v1/pricing`: every model entry with its ids, price periods and tiers, which entries come from the
  `pricing_file`, and the date the shipped table was checked;
- `GET /api/v1/cost/check`: per model, Claude Code's reported cost next to the cost recomputed from its tokens, the
  difference flagged above a threshold, unknown models with their tokens; within the caller's scope and filters.

No `from __future__ import annotations`: FastAPI reads these signatures at runtime.
"""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi import Query as Param
from pydantic import BaseModel

from ccmon.analytics import Analytics, Query
from ccmon.analytics.cost_check import DEFAULT_THRESHOLD, CostCheck
from ccmon.auth.principal import Principal
from ccmon.pricing.entries import ModelEntry, Period, Rates
from ccmon.web.params import Authenticate, QueryDependencies, reject_unknown_parameters


class RatesView(BaseModel):
    """USD per million tokens."""

    input: float
    output: float
    cache_read: float
    cache_write_5m: float
    cache_write_1h: float


class LongPromptView(BaseModel):
    above_prompt_tokens: int
    """The prompt (input + cache read + cache write tokens) above which these prices apply to the whole request."""
    prices: RatesView


class PeriodView(BaseModel):
    effective_from: date | None
    """UTC date; null: since the model exists. A period applies until the next one's date."""
    prices: RatesView
    long_prompt: LongPromptView | None
    batch_discount: float


class ModelView(BaseModel):
    name: str
    ids: list[str]
    """Model ids the entry prices, with any provider prefix, snapshot date, version or `[1m]` suffix."""
    overridden: bool
    """From the `pricing_file` rather than the shipped table."""
    periods: list[PeriodView]


class PricingView(BaseModel):
    checked: date
    """When the shipped table was last checked against Anthropic's prices."""
    sources: list[str]
    models: list[ModelView]
    """In matching order: the first entry whose ids match a model prices it."""


def pricing_view(analytics: Analytics) -> PricingView:
    table = analytics.prices
    return PricingView(
        checked=table.checked,
        sources=list(table.sources),
        models=[_model(entry) for entry in table.entries],
    )


def _model(entry: ModelEntry) -> ModelView:
    return ModelView(
        name=entry.name, ids=list(entry.ids), overridden=entry.overridden, periods=[_period(p) for p in entry.periods]
    )


def _period(period: Period) -> PeriodView:
    long = period.long_prompt
    return PeriodView(
        effective_from=period.start,
        prices=_rates(period.rates),
        long_prompt=None
        if long is None
        else LongPromptView(above_prompt_tokens=long.above_prompt_tokens, prices=_rates(long.rates)),
        batch_discount=period.batch_discount,
    )


def _rates(rates: Rates) -> RatesView:
    return RatesView(
        input=rates.input,
        output=rates.output,
        cache_read=rates.cache_read,
        cache_write_5m=rates.cache_write_5m,
        cache_write_1h=rates.cache_write_1h,
    )


def pricing_routes(analytics: Analytics, authorize: Authenticate) -> APIRouter:
    router = APIRouter(tags=["analytics"], dependencies=[Depends(reject_unknown_parameters)])
    queries = QueryDependencies(authorize)

    @router.get("/pricing")
    def get_pricing(_: Annotated[Principal, Depends(authorize)]) -> PricingView:
        """The model price table in effect (shipped + `pricing_file`): ids, dated prices, tiers, batch discount."""
        return pricing_view(analytics)

    @router.get("/cost/check")
    def get_cost_check(
        query: Annotated[Query, Depends(queries.ranged)],
        threshold_pct: Annotated[
            float, Param(ge=0, le=1000, description="flag a model whose recomputed cost is off by more than this %")
        ] = DEFAULT_THRESHOLD * 100,
    ) -> CostCheck:
        """Per model: Claude Code's reported cost of its API requests next to the cost recomputed from their tokens
        by the price table, the difference, flagged above the threshold; models without a price with their tokens."""
        return analytics.cost_check(query, threshold_pct / 100)

    return router
