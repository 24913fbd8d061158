"""One price-table entry as a ClickHouse expression: its periods by date, its long-prompt prices by prompt size.

Written to compute exactly what `ModelPrices.cost` computes (same products, summed in the same order, divided the
same way), so a figure recomputed in the engine equals the one computed in Python to the last bit.
"""

from __future__ import annotations

from ccmon.pricing.entries import Period, Rates


def entry_sql(periods: tuple[Period, ...], ts: str, columns: tuple[str, str, str, str]) -> str:
    """The cost expression of one entry's periods (oldest first) over `ts` and the token columns (input, output,
    cache read, cache creation); NULL before its first dated period."""
    branches: list[str] = []
    fallback = "NULL"
    for period in reversed(periods):  # newest first: the first start not after `ts` wins
        cost = _period_sql(period, columns)
        if period.start is None:
            fallback = cost
        else:
            branches.append(f"{ts} >= toDateTime('{period.start.isoformat()} 00:00:00', 'UTC'), {cost}")
    if not branches:
        return fallback
    return f"multiIf({', '.join(branches)}, {fallback})"


def _period_sql(period: Period, columns: tuple[str, str, str, str]) -> str:
    base = _rates_sql(period.rates, columns)
    if period.long_prompt is None:
        return base
    input_tokens, _, cache_read, cache_creation = columns
    prompt = f"({input_tokens} + {cache_read} + {cache_creation})"
    long = _rates_sql(period.long_prompt.rates, columns)
    return f"if({prompt} > {period.long_prompt.above_prompt_tokens}, {long}, {base})"


def _rates_sql(rates: Rates, columns: tuple[str, str, str, str]) -> str:
    input_tokens, output, cache_read, cache_creation = columns
    # The 1 h share of cache writes is not in Claude Code's events: all of them at the 5 min rate, plus 0 x the 1 h
    # rate, so the sum has the same terms as in Python.
    return (
        f"((toFloat64({input_tokens}) * {rates.input!r} + toFloat64({output}) * {rates.output!r} "
        f"+ toFloat64({cache_read}) * {rates.cache_read!r} + toFloat64({cache_creation}) * {rates.cache_write_5m!r} "
        f"+ 0. * {rates.cache_write_1h!r}) / 1000000.)"
    )
