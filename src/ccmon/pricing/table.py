"""The price table in effect: the shipped one (`prices.toml`, with the date it was checked) plus a `pricing_file`'s
entries, and what tokens cost by it, in Python (`cost`) and as a ClickHouse expression (`sql_cost`) that computes the
same figure inside the engine.

A model the table does not know has no price (None, NULL): never zero, so an unknown model shows up as unpriced
instead of as free.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from pathlib import Path

from ccmon.pricing.entries import (
    LongPrompt,
    ModelEntry,
    Period,
    PriceFile,
    PricingFileError,
    Rates,
    read_price_file,
)
from ccmon.pricing.sql import entry_sql

__all__ = ["ModelPrices", "PriceTable", "PricingFileError", "load_prices", "model_pattern"]


def model_pattern(ids: tuple[str, ...]) -> str:
    """A regular expression (the same in Python and in ClickHouse's RE2) matching a model id as Claude Code reports
    it on any provider: the id itself plus a snapshot date (`-20250929`, Vertex `@20250929`), `-latest`, a Bedrock
    region and `anthropic.` prefix (`us.anthropic.`), a Bedrock version (`-v1:0`) or `-v2` before a Vertex date,
    and Claude Code's `[1m]` suffix (the 1M context window)."""
    alternatives = "|".join(model_id.replace(".", r"\.") for model_id in ids)
    return (
        rf"(?i)^(?:[a-z]+\.)?(?:anthropic\.)?(?:{alternatives})(?:-v\d+)?(?:[-@]\d{{8}})?(?:-latest)?"
        r"(?:-v\d+(?::\d+)?)?(?:\[1m\])?$"
    )


@dataclass(frozen=True)
class ModelPrices:
    """One model's prices at one instant (USD per million tokens)."""

    name: str
    """The table entry's name, e.g. `Sonnet 4 / 4.5`."""
    effective_from: date | None
    """The UTC date these prices apply from; None: since the model exists."""
    rates: Rates
    long_prompt: LongPrompt | None
    batch_discount: float
    overridden: bool

    def cost(
        self,
        *,
        input_tokens: int,
        output_tokens: int,
        cache_read_tokens: int,
        cache_creation_tokens: int,
        cache_creation_1h_tokens: int = 0,
        batch: bool = False,
    ) -> float:
        """USD for one request's tokens. `cache_creation_tokens` counts every cache write; the part of them written
        for 1 hour (`cache_creation_1h_tokens`) is priced at the 1 h rate, the rest at the 5 min rate. The prompt
        size that picks the long-prompt prices is input + cache read + cache write tokens."""
        prompt = input_tokens + cache_read_tokens + cache_creation_tokens
        rates = self.rates
        if self.long_prompt is not None and prompt > self.long_prompt.above_prompt_tokens:
            rates = self.long_prompt.rates
        one_hour = min(max(cache_creation_1h_tokens, 0), cache_creation_tokens)
        # Summed in the same order as the SQL expression (ccmon.pricing.sql), so both give the same float.
        usd = (
            input_tokens * rates.input
            + output_tokens * rates.output
            + cache_read_tokens * rates.cache_read
            + (cache_creation_tokens - one_hour) * rates.cache_write_5m
            + one_hour * rates.cache_write_1h
        ) / 1_000_000
        return usd * (1 - self.batch_discount) if batch else usd


@dataclass(frozen=True)
class _Matcher:
    entry: ModelEntry
    pattern: re.Pattern[str]


class PriceTable:
    """Model prices by model id and date. The first entry whose ids match a model decides its price (a
    `pricing_file`'s entries come first); a date before that entry's first period has no price."""

    def __init__(self, checked: date, sources: tuple[str, ...], entries: tuple[ModelEntry, ...]) -> None:
        self.checked = checked
        self.sources = sources
        self.entries = entries
        self._matchers = tuple(_Matcher(e, re.compile(model_pattern(e.ids))) for e in entries)

    def entry_for(self, model: str) -> ModelEntry | None:
        """The table entry that prices `model`, whatever the date, or None."""
        return next((m.entry for m in self._matchers if m.pattern.fullmatch(model)), None)

    def prices(self, model: str, at: datetime) -> ModelPrices | None:
        """`model`'s prices at `at` (naive: UTC); None when the table does not know the model then."""
        entry = self.entry_for(model)
        if entry is None:
            return None
        period = _period_at(entry.periods, at if at.tzinfo else at.replace(tzinfo=UTC))
        if period is None:
            return None
        return ModelPrices(
            name=entry.name,
            effective_from=period.start,
            rates=period.rates,
            long_prompt=period.long_prompt,
            batch_discount=period.batch_discount,
            overridden=entry.overridden,
        )

    def cost(
        self,
        model: str,
        at: datetime,
        *,
        input_tokens: int,
        output_tokens: int,
        cache_read_tokens: int,
        cache_creation_tokens: int,
        cache_creation_1h_tokens: int = 0,
        batch: bool = False,
    ) -> float | None:
        """USD for one request's tokens (see `ModelPrices.cost`); None for a model without a price then."""
        prices = self.prices(model, at)
        if prices is None:
            return None
        return prices.cost(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cache_read_tokens=cache_read_tokens,
            cache_creation_tokens=cache_creation_tokens,
            cache_creation_1h_tokens=cache_creation_1h_tokens,
            batch=batch,
        )

    def sql_cost(
        self,
        *,
        model: str,
        ts: str,
        input_tokens: str,
        output_tokens: str,
        cache_read_tokens: str,
        cache_creation_tokens: str,
    ) -> str:
        """A ClickHouse expression (Nullable(Float64)) giving what `cost` gives, over the named columns or
        expressions; NULL for a model or date without a price. Every cache write is priced at the 5 min rate:
        Claude Code's events do not say which were written for 1 hour (nor does the cost it reports)."""
        columns = (input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens)
        branches = [
            f"match({model}, '{_sql_text(matcher.pattern.pattern)}'), {entry_sql(matcher.entry.periods, ts, columns)}"
            for matcher in self._matchers
        ]
        if not branches:
            return "CAST(NULL AS Nullable(Float64))"
        return f"multiIf({', '.join(branches)}, NULL)"


def _period_at(periods: tuple[Period, ...], at: datetime) -> Period | None:
    chosen = None
    for period in periods:  # oldest first
        if period.start is None or at >= datetime(period.start.year, period.start.month, period.start.day, tzinfo=UTC):
            chosen = period
    return chosen


def _sql_text(text: str) -> str:
    """`text` inside a ClickHouse string literal."""
    return text.replace("\\", "\\\\").replace("'", "\\'")


@cache
def _shipped() -> PriceFile:
    text = resources.files("ccmon.pricing").joinpath("prices.toml").read_text(encoding="utf-8")
    return read_price_file(text, "shipped prices.toml", shipped=True)


def load_prices(pricing_file: str | None = None) -> PriceTable:
    """The shipped table plus `pricing_file`'s entries: an entry named like a shipped one replaces it, others are
    added; all of the file's entries are matched before the shipped ones. PricingFileError naming the entry when
    the file is unreadable or wrong."""
    shipped = _shipped()
    assert shipped.checked is not None  # read_price_file requires it of the shipped table
    if pricing_file is None:
        return PriceTable(shipped.checked, shipped.sources, shipped.models)
    try:
        text = Path(pricing_file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PricingFileError(f"{pricing_file}: cannot read: {exc}") from None
    overrides = read_price_file(text, pricing_file, shipped=False)
    replaced = {entry.name for entry in overrides.models}
    kept = tuple(entry for entry in shipped.models if entry.name not in replaced)
    return PriceTable(shipped.checked, shipped.sources, (*overrides.models, *kept))
