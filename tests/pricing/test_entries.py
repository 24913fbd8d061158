"""A hand-edited price file with a mistake is refused with an error naming the entry and the key: never a model
silently priced at zero or dropped."""

from __future__ import annotations

import pytest

from ccmon.pricing.entries import MAX_FILE_BYTES, PricingFileError, read_price_file

PERIOD = "input = 1.0\noutput = 2.0\ncache_read = 0.1\ncache_write_5m = 1.25\ncache_write_1h = 2.0\n"


def model(body: str = PERIOD, head: str = 'name = "M"\nids = ["claude-m"]\n', period_head: str = "") -> str:
    return f"[[models]]\n{head}[[models.prices]]\n{period_head}{body}"


def test_a_valid_file_reads() -> None:
    read = read_price_file(model(period_head="from = 2026-01-02\n"), "f.toml", shipped=False)
    (entry,) = read.models
    assert entry.ids == ("claude-m",) and entry.overridden
    assert entry.periods[0].rates.cache_write_1h == 2.0 and entry.periods[0].batch_discount == 0.5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("models = [", r"f.toml: not valid TOML: Invalid value"),
        ("model = []", r"f.toml: unknown keys model"),
        (model(PERIOD.replace("input = 1.0", "input = -1.0")), r'models\[0\] "M" prices\[0\]: input: -1.0 is outside'),
        (model(PERIOD.replace("input = 1.0", 'input = "1"')), r"prices\[0\]: input: expected a number"),
        (model(PERIOD.replace("input = 1.0", "input = nan")), r"input: expected a number"),
        (model(PERIOD.replace("input = 1.0", "input = inf")), r"input: expected a number"),
        (model(PERIOD.replace("input = 1.0", "input = true")), r"input: expected a number"),
        (model(PERIOD.replace("output = 2.0", "output = 1e9")), r"output: 1000000000.0 is outside 0..10000"),
        (
            model(PERIOD.replace("input = 1.0", "input = 3e-06")),
            r'"M" prices\[0\]: input: 3e-06 looks like a price per token; prices are USD per million tokens',
        ),
        (model(PERIOD.replace("cache_read = 0.1", "cache_read = 0.0009")), r"cache_read: 0.0009 looks like a price"),
        (model(PERIOD.replace("cache_write_1h = 2.0\n", "")), r'"M" prices\[0\]: cache_write_1h: required'),
        (model(PERIOD + "cache_wirte_5m = 1\n"), r'"M" prices\[0\]: unknown keys cache_wirte_5m'),
        (model(head='ids = ["claude-m"]\n'), r"models\[0\]: name: required"),
        (model(head='name = "M"\n'), r'"M": ids: expected a non-empty list'),
        (model(head='name = "M"\nids = []\n'), r'"M": ids: expected a non-empty list'),
        (model(head='name = "M"\nids = ["claude-m\') OR 1=1 --"]\n'), r"is not a model id"),
        (model(head='name = "M"\nids = ["Claude-M"]\n'), r"is not a model id"),
        (model(head='name = "M"\nids = ["claude-m"]\ncolour = 1\n'), r'"M": unknown keys colour'),
        ('[[models]]\nname = "M"\nids = ["claude-m"]\n', r'"M": prices: expected one or more'),
        (model(period_head="from = 2026-13-01\n"), r"not valid TOML"),
        (model(period_head='from = "2026-01-01"\n'), r"from: expected a date"),
        (model(period_head="from = 2026-01-01T10:00:00\n"), r"from: expected a date"),
        (
            model(period_head="from = 2026-01-01\n") + "[[models.prices]]\nfrom = 2026-01-01\n" + PERIOD,
            r"two periods start on the same date",
        ),
        (model() + "[[models.prices]]\n" + PERIOD, r"only one period \(the first\) may leave out"),
        (model(period_head="batch_discount = 1.5\n"), r"batch_discount: expected a fraction"),
        (
            model(period_head="[models.prices.long_prompt]\nabove_prompt_tokens = 0\n"),
            r"long_prompt: above_prompt_tokens: expected a positive whole number",
        ),
        (model(period_head="long_prompt = 3\n"), r"long_prompt: expected a table"),
        (model() + "\n" + model(head='name = "M"\nids = ["claude-n"]\n'), r'"M": the name appears twice'),
        (model() + "\n" + model(head='name = "N"\nids = ["claude-m"]\n'), r"""'claude-m' is already in "M\""""),
        ("models = 3", r"models: expected \[\[models\]\] tables"),
        ("sources = [1]", r"sources: expected a list of text"),
        ("checked = 5", r"checked: expected a date"),
    ],
)
def test_a_mistake_is_refused_naming_the_entry_and_key(text: str, message: str) -> None:
    with pytest.raises(PricingFileError, match=message):
        read_price_file(text, "f.toml", shipped=False)


def test_zero_and_the_smallest_real_prices_are_accepted() -> None:
    """The floor catches per-token prices, not a free rate or the cheapest list price ($0.01, a cache read)."""
    cheapest = PERIOD.replace("cache_read = 0.1", "cache_read = 0.01")
    text = model(cheapest.replace("cache_write_5m = 1.25", "cache_write_5m = 0"))
    rates = read_price_file(text, "f.toml", shipped=False).models[0].periods[0].rates
    assert (rates.cache_read, rates.cache_write_5m) == (0.01, 0.0)


def test_the_long_prompt_table_is_checked_like_a_period() -> None:
    text = model(
        PERIOD + "[models.prices.long_prompt]\nabove_prompt_tokens = 200_000\n" + PERIOD.replace("output = 2.0\n", "")
    )
    with pytest.raises(PricingFileError, match=r'"M" prices\[0\] long_prompt: output: required'):
        read_price_file(text, "f.toml", shipped=False)


def test_the_shipped_table_must_say_when_it_was_checked() -> None:
    with pytest.raises(PricingFileError, match="checked: the date the prices were checked is required"):
        read_price_file(model(), "prices.toml", shipped=True)


def test_a_huge_file_is_refused_before_it_is_parsed() -> None:
    with pytest.raises(PricingFileError, match=f"larger than {MAX_FILE_BYTES} bytes"):
        read_price_file("#" * (MAX_FILE_BYTES + 1), "f.toml", shipped=False)


def test_a_deeply_nested_file_is_an_error_not_a_crash() -> None:
    with pytest.raises(PricingFileError):
        read_price_file("models = " + "[" * 5000 + "]" * 5000, "f.toml", shipped=False)
