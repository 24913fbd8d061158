"""A fixed price table for the report tests, so estimates are exact whatever prices ship: a real `PriceTable`, read
from TOML as a `pricing_file` is (USD per million tokens, no long-prompt tier)."""

from __future__ import annotations

from datetime import date

from ccmon.pricing.entries import read_price_file
from ccmon.pricing.table import PriceTable

TOML = """
[[models]]
name = "Sonnet"
ids = ["claude-sonnet-4-5"]
[[models.prices]]
input = 3.0
output = 15.0
cache_read = 0.30
cache_write_5m = 3.75
cache_write_1h = 6.0

[[models]]
name = "Opus"
ids = ["claude-opus-4-1"]
[[models.prices]]
input = 15.0
output = 75.0
cache_read = 1.50
cache_write_5m = 18.75
cache_write_1h = 30.0
"""


def fixed_prices() -> PriceTable:
    """The table of `TOML` alone (no shipped entry): a model it does not list has no price."""
    read = read_price_file(TOML, "tests/reports/prices.py", shipped=False)
    return PriceTable(date(2026, 11, 30), read.sources, read.models)
