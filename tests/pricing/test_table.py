"""The price table: which entry prices a model id as each provider spells it, which period applies on a date, and
what tokens cost (tiers, cache writes, batch); overrides from a `pricing_file`."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import TypedDict

import pytest

from ccmon.pricing.table import PriceTable, PricingFileError, load_prices


class Tokens(TypedDict):
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_creation_tokens: int


NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
TOKENS: Tokens = {"input_tokens": 1200, "output_tokens": 85, "cache_read_tokens": 4000, "cache_creation_tokens": 300}


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return load_prices()


def test_the_shipped_table_says_when_it_was_checked(table: PriceTable) -> None:
    assert table.checked == date(2026, 11, 30)
    assert any("anthropic.com" in source for source in table.sources)


@pytest.mark.parametrize(
    ("model", "name"),
    [
        ("claude-opus-4-5-20251101", "Opus 4.5 - 4.8"),
        ("claude-opus-4-5", "Opus 4.5 - 4.8"),
        ("claude-opus-4-5[1m]", "Opus 4.5 - 4.8"),
        ("us.anthropic.claude-opus-4-5-20251101-v1:0", "Opus 4.5 - 4.8"),
        ("claude-opus-4-5@20251101", "Opus 4.5 - 4.8"),
        ("claude-opus-4-1-20250805", "Opus 4 / 4.1"),
        ("claude-opus-4-20250514", "Opus 4 / 4.1"),
        ("claude-sonnet-4-5-20250929", "Sonnet 4 / 4.5"),
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "Sonnet 4 / 4.5"),
        ("claude-sonnet-4@20250514", "Sonnet 4 / 4.5"),
        ("claude-3-5-sonnet-v2@20241022", "Sonnet 3.5 / 3.7"),
        ("claude-haiku-4-5-20251001", "Haiku 4.5"),
        ("claude-3-5-haiku-20241022", "Haiku 3.5"),
        ("claude-3-5-haiku-latest", "Haiku 3.5"),
        ("us.anthropic.claude-3-5-haiku-20241022-v1:0", "Haiku 3.5"),
        ("claude-opus-5-5[1m]", "Opus 5.5"),
        ("CLAUDE-SONNET-5", "Sonnet 5"),
    ],
)
def test_a_model_id_is_matched_as_every_provider_spells_it(table: PriceTable, model: str, name: str) -> None:
    prices = table.prices(model, NOW)
    assert prices is not None and prices.name == name


@pytest.mark.parametrize(
    "model",
    [
        "",
        "gpt-4o",
        "claude-opus-4-5x",
        "claude-opus-4-9",
        "claude-sonnet-4-5-2025092",
        "claude-opus-5-5-fast",
        "xclaude-opus-4-5",
        "claude-opus-4-5-20251101-extra",
    ],
)
def test_an_unknown_model_has_no_price_rather_than_a_zero_one(table: PriceTable, model: str) -> None:
    assert table.prices(model, NOW) is None
    assert table.cost(model, NOW, **TOKENS) is None


def test_cost_of_the_fixture_runs_request_is_what_claude_code_reported(table: PriceTable) -> None:
    # tests/fixtures/claude-code-2.1.330: each request of claude-opus-5-5 costs 0.0088 by Claude Code's own account.
    assert table.cost("claude-opus-5-5", NOW, **TOKENS) == pytest.approx(0.0088, abs=1e-12)


def test_cache_writes_for_one_hour_are_priced_at_the_one_hour_rate(table: PriceTable) -> None:
    tokens: Tokens = {"input_tokens": 0, "output_tokens": 0, "cache_read_tokens": 0, "cache_creation_tokens": 1_000_000}
    assert table.cost("claude-opus-4-5", NOW, **tokens) == pytest.approx(6.25)
    assert table.cost("claude-opus-4-5", NOW, **tokens, cache_creation_1h_tokens=400_000) == pytest.approx(
        0.6 * 6.25 + 0.4 * 10
    )
    # More 1 h writes than writes: all of them, no negative 5 min share.
    assert table.cost("claude-opus-4-5", NOW, **tokens, cache_creation_1h_tokens=5_000_000) == pytest.approx(10)


def test_batch_is_half_off(table: PriceTable) -> None:
    full = table.cost("claude-haiku-4-5", NOW, **TOKENS)
    assert full is not None
    assert table.cost("claude-haiku-4-5", NOW, **TOKENS, batch=True) == pytest.approx(full / 2)


def test_a_prompt_above_200k_tokens_costs_the_long_context_prices_on_sonnet_4_5(table: PriceTable) -> None:
    def cost(input_tokens: int, cache_read: int) -> float | None:
        return table.cost(
            "claude-sonnet-4-5-20250929",
            NOW,
            input_tokens=input_tokens,
            output_tokens=1_000,
            cache_read_tokens=cache_read,
            cache_creation_tokens=0,
        )

    assert cost(100_000, 100_000) == pytest.approx((200_000 * 3 + 1_000 * 15 - 100_000 * 3 + 100_000 * 0.3) / 1e6)
    # One token more, counting what the cache served: every token at the long-context prices.
    assert cost(100_001, 100_000) == pytest.approx((100_001 * 6 + 1_000 * 22.5 + 100_000 * 0.6) / 1e6)
    # Opus 4.5 has no such tier.
    long = table.cost(
        "claude-opus-4-5", NOW, input_tokens=300_000, output_tokens=0, cache_read_tokens=0, cache_creation_tokens=0
    )
    assert long == pytest.approx(1.5)


def test_before_a_models_first_dated_price_there_is_no_price(table: PriceTable) -> None:
    assert table.prices("claude-haiku-4-5", datetime(2025, 9, 30, 23, 59, tzinfo=UTC)) is None
    prices = table.prices("claude-haiku-4-5", datetime(2025, 10, 1, tzinfo=UTC))
    assert prices is not None and prices.effective_from == date(2025, 10, 1)
    # A naive instant is UTC.
    assert table.prices("claude-haiku-4-5", datetime(2025, 10, 1)) is not None


OVERRIDE = """
[[models]]
name = "Opus 4.5 - 4.8"
ids = ["claude-opus-4-5"]
[[models.prices]]
input = 5.0
output = 25.0
cache_read = 0.5
cache_write_5m = 6.25
cache_write_1h = 10.0
[[models.prices]]
from = 2026-06-15
input = 4.0
output = 20.0
cache_read = 0.4
cache_write_5m = 5.0
cache_write_1h = 8.0

[[models]]
name = "Our gateway's model"
ids = ["acme-coder"]
[[models.prices]]
input = 1.0
output = 2.0
cache_read = 0.0
cache_write_5m = 0.0
cache_write_1h = 0.0
"""


def test_a_price_change_dated_mid_range_applies_from_its_date(tmp_path: Path) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(OVERRIDE)
    table = load_prices(str(path))
    million: Tokens = {
        "input_tokens": 1_000_000,
        "output_tokens": 0,
        "cache_read_tokens": 0,
        "cache_creation_tokens": 0,
    }
    assert table.cost("claude-opus-4-5", datetime(2026, 6, 14, 23, 59, 59, tzinfo=UTC), **million) == 5.0
    assert table.cost("claude-opus-4-5", datetime(2026, 6, 15, tzinfo=UTC), **million) == 4.0
    assert table.cost("acme-coder", NOW, **million) == 1.0
    # The override replaced the shipped entry of that name: Opus 4.6 - 4.8 are no longer in it, so unpriced.
    assert table.prices("claude-opus-4-6", NOW) is None
    overridden = {entry.name for entry in table.entries if entry.overridden}
    assert overridden == {"Opus 4.5 - 4.8", "Our gateway's model"}
    assert table.checked == date(2026, 11, 30)


def test_an_override_file_that_cannot_be_read_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(PricingFileError, match=r"missing\.toml: cannot read"):
        load_prices(str(tmp_path / "missing.toml"))
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(PricingFileError, match=r"binary\.toml: cannot read"):
        load_prices(str(binary))
