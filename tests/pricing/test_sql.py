"""`sql_cost` computed by the real engine equals `cost` computed in Python, for every model of the table, across
price periods, long-prompt tiers and unknown models."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

from ccmon.pricing.table import PriceTable, load_prices
from ccmon.store.facade import Store
from tests.pricing.test_table import OVERRIDE

MODELS = (
    "claude-opus-4-5-20251101",
    "us.anthropic.claude-opus-4-5-20251101-v1:0",
    "claude-opus-4-6",
    "claude-sonnet-4-5-20250929",
    "claude-sonnet-4@20250514",
    "claude-haiku-4-5@20251001",
    "claude-haiku-5-5",
    "claude-3-5-haiku-20241022",
    "claude-opus-5-5[1m]",
    "acme-coder",
    "gpt-4o",
    "",
    "claude-opus-4-5') OR 1=1 --",
)
INSTANTS = (
    datetime(2024, 1, 1, tzinfo=UTC),
    datetime(2025, 9, 30, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2025, 10, 1, tzinfo=UTC),
    datetime(2026, 6, 14, 23, 59, 59, tzinfo=UTC),
    datetime(2026, 6, 15, tzinfo=UTC),
)
TOKENS = (
    (1200, 85, 4000, 300),
    (0, 0, 0, 0),
    (150_000, 2_000, 50_000, 0),  # exactly 200k prompt tokens: not above
    (150_000, 2_000, 50_000, 1),  # one above
    (10**9, 10**8, 10**9, 10**8),
)


def _grid_sql(table: PriceTable) -> tuple[str, list[tuple[str, datetime, tuple[int, int, int, int]]]]:
    cases = list(itertools.product(MODELS, INSTANTS, TOKENS))
    rows = ", ".join(
        f"({n}, '{model.replace(chr(39), chr(92) + chr(39))}', '{at:%Y-%m-%d %H:%M:%S.%f}', {i}, {o}, {r}, {c})"
        for n, (model, at, (i, o, r, c)) in enumerate(cases)
    )
    cost = table.sql_cost(
        model="model",
        ts="ts",
        input_tokens="input_tokens",
        output_tokens="output_tokens",
        cache_read_tokens="cache_read_tokens",
        cache_creation_tokens="cache_creation_tokens",
    )
    structure = (
        "n UInt32, model String, ts DateTime64(9, 'UTC'), input_tokens UInt64, output_tokens UInt64, "
        "cache_read_tokens UInt64, cache_creation_tokens UInt64"
    )
    return f"SELECT n, {cost} FROM values('{structure.replace(chr(39), chr(92) + chr(39))}', {rows}) ORDER BY n", [
        (model, at, tokens) for model, at, tokens in cases
    ]


def test_the_engine_computes_the_same_cost_as_python(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(OVERRIDE)
    for table in (load_prices(), load_prices(str(path))):
        sql, cases = _grid_sql(table)
        results = store.query(sql)
        assert len(results) == len(cases)
        priced = 0
        for (_n, engine), (model, at, (i, o, r, c)) in zip(results, cases, strict=True):
            expected = table.cost(
                model, at, input_tokens=i, output_tokens=o, cache_read_tokens=r, cache_creation_tokens=c
            )
            assert engine == expected, (model, at, (i, o, r, c))
            priced += expected is not None
        assert 0 < priced < len(cases)  # both priced and unpriced cases were compared


def test_an_empty_table_prices_nothing(store: Store) -> None:
    empty = PriceTable(load_prices().checked, (), ())
    expression = empty.sql_cost(
        model="'claude-opus-4-5'",
        ts="now()",
        input_tokens="1",
        output_tokens="1",
        cache_read_tokens="1",
        cache_creation_tokens="1",
    )
    assert store.query(f"SELECT {expression}") == [(None,)]
