"""The price table's entries, read from TOML and checked: every mistake is an error naming the entry and the key.

A price file is data a person edits by hand (`pricing_file`), so a typo must not silently price tokens at zero or
drop a model: unknown keys, missing prices, negative or absurd numbers, a model id that could not be a model id,
and two periods starting the same day are all refused.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from datetime import date
from typing import Any

# Prices are USD per million tokens. The cheapest list price is $0.01 (a cache read) and the dearest $150 (output,
# fast mode). A price per token, as LiteLLM's `input_cost_per_token` gives it (3e-06 for $3 per million), is a
# million times smaller: a non-zero price below the floor is that unit mistake, and would make every recomputed cost
# about a millionth of the real one. Zero stays allowed (a free cache rate of a gateway model). Far above the
# dearest price is a typo (digits too many) rather than a price.
MIN_NONZERO_PRICE = 0.001
MAX_PRICE = 10_000.0
MAX_FILE_BYTES = 1_000_000
# What a model id may contain: enough for every provider's spelling, nothing that needs quoting in SQL or a regex.
MODEL_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")

RATES = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h")
_PERIOD_KEYS = {"from", "batch_discount", "long_prompt", *RATES}
_LONG_KEYS = {"above_prompt_tokens", *RATES}
_MODEL_KEYS = {"name", "ids", "prices"}
_FILE_KEYS = {"checked", "batch_discount", "sources", "models"}


class PricingFileError(ValueError):
    """A price file ccmon cannot use; the message names the file, the entry and the key."""


@dataclass(frozen=True)
class Rates:
    """USD per million tokens of each kind."""

    input: float
    output: float
    cache_read: float
    cache_write_5m: float
    cache_write_1h: float


@dataclass(frozen=True)
class LongPrompt:
    """The prices of a request whose prompt (input + cache read + cache write tokens) is above a size."""

    above_prompt_tokens: int
    rates: Rates


@dataclass(frozen=True)
class Period:
    """The prices of a model from a date (UTC) until the next period's; `start` None: since the model exists."""

    start: date | None
    rates: Rates
    batch_discount: float
    long_prompt: LongPrompt | None


@dataclass(frozen=True)
class ModelEntry:
    name: str
    ids: tuple[str, ...]
    periods: tuple[Period, ...]
    """Oldest first."""
    overridden: bool = False
    """From the `pricing_file` rather than the shipped table."""


@dataclass(frozen=True)
class PriceFile:
    checked: date | None
    sources: tuple[str, ...]
    models: tuple[ModelEntry, ...]


def read_price_file(text: str, origin: str, *, shipped: bool) -> PriceFile:
    """The entries of a price file's text; `origin` names it in errors. The shipped table must say when it was
    checked; an override file may not (its date is its owner's business)."""
    if len(text.encode()) > MAX_FILE_BYTES:
        raise PricingFileError(f"{origin}: larger than {MAX_FILE_BYTES} bytes")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PricingFileError(f"{origin}: not valid TOML: {exc}") from None
    except RecursionError:  # tomllib parses nested arrays recursively
        raise PricingFileError(f"{origin}: not valid TOML: nested too deeply") from None
    _known_keys(data, _FILE_KEYS, origin)
    checked = data.get("checked")
    if shipped and not isinstance(checked, date):
        raise PricingFileError(
            f"{origin}: checked: the date the prices were checked is required (checked = 2026-11-30)"
        )
    if checked is not None and (not isinstance(checked, date) or hasattr(checked, "hour")):
        raise PricingFileError(f"{origin}: checked: expected a date (checked = 2026-11-30), got {checked!r}")
    default_discount = _fraction(data.get("batch_discount", 0.5), f"{origin}: batch_discount")
    sources = data.get("sources", [])
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise PricingFileError(f"{origin}: sources: expected a list of text")
    models = data.get("models", [])
    if not isinstance(models, list) or not all(isinstance(m, dict) for m in models):
        raise PricingFileError(f"{origin}: models: expected [[models]] tables")
    entries = tuple(
        _model(raw, f"{origin}: models[{i}]", default_discount, overridden=not shipped) for i, raw in enumerate(models)
    )
    _unique(entries, origin)
    return PriceFile(checked=checked, sources=tuple(sources), models=entries)


def _model(raw: dict[str, Any], where: str, default_discount: float, *, overridden: bool) -> ModelEntry:
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise PricingFileError(f"{where}: name: required text")
    where = f'{where} "{name}"'
    _known_keys(raw, _MODEL_KEYS, where)
    ids = raw.get("ids")
    if not isinstance(ids, list) or not ids:
        raise PricingFileError(f"{where}: ids: expected a non-empty list of model ids")
    for model_id in ids:
        if not isinstance(model_id, str) or not MODEL_ID.fullmatch(model_id):
            raise PricingFileError(
                f"{where}: ids: {model_id!r} is not a model id (lower-case letters, digits, '.', '_', '-')"
            )
    periods = raw.get("prices")
    if not isinstance(periods, list) or not periods or not all(isinstance(p, dict) for p in periods):
        raise PricingFileError(f"{where}: prices: expected one or more [[models.prices]] tables")
    parsed = sorted(
        (_period(p, f"{where} prices[{i}]", default_discount) for i, p in enumerate(periods)),
        key=lambda p: p.start or date.min,
    )
    starts = [p.start for p in parsed]
    dated = [start for start in starts if start is not None]
    if len(set(dated)) != len(dated):
        raise PricingFileError(f"{where}: prices: two periods start on the same date")
    if starts.count(None) > 1:
        raise PricingFileError(f"{where}: prices: only one period (the first) may leave out `from`")
    return ModelEntry(name=name, ids=tuple(ids), periods=tuple(parsed), overridden=overridden)


def _period(raw: dict[str, Any], where: str, default_discount: float) -> Period:
    _known_keys(raw, _PERIOD_KEYS, where)
    start = raw.get("from")
    if start is not None and (not isinstance(start, date) or hasattr(start, "hour")):
        raise PricingFileError(f"{where}: from: expected a date (from = 2025-09-29), got {start!r}")
    long_prompt = raw.get("long_prompt")
    if long_prompt is not None:
        if not isinstance(long_prompt, dict):
            raise PricingFileError(f"{where}: long_prompt: expected a table")
        _known_keys(long_prompt, _LONG_KEYS, f"{where} long_prompt")
        above = long_prompt.get("above_prompt_tokens")
        if isinstance(above, bool) or not isinstance(above, int) or not 0 < above < 10**9:
            raise PricingFileError(f"{where}: long_prompt: above_prompt_tokens: expected a positive whole number")
        long = LongPrompt(above, _rates(long_prompt, f"{where} long_prompt"))
    return Period(
        start=start,
        rates=_rates(raw, where),
        batch_discount=_fraction(raw.get("batch_discount", default_discount), f"{where}: batch_discount"),
        long_prompt=long if long_prompt is not None else None,
    )


def _rates(raw: dict[str, Any], where: str) -> Rates:
    values: dict[str, float] = {}
    for key in RATES:
        value = raw.get(key)
        if value is None:
            raise PricingFileError(f"{where}: {key}: required (USD per million tokens)")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise PricingFileError(f"{where}: {key}: expected a number (USD per million tokens), got {value!r}")
        if not 0 <= value <= MAX_PRICE:
            raise PricingFileError(f"{where}: {key}: {value} is outside 0..{MAX_PRICE:g} USD per million tokens")
        if 0 < value < MIN_NONZERO_PRICE:
            raise PricingFileError(
                f"{where}: {key}: {value} looks like a price per token; prices are USD per million tokens"
                f" (0, or from {MIN_NONZERO_PRICE:g})"
            )
        values[key] = float(value)
    return Rates(**values)


def _fraction(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise PricingFileError(f"{where}: expected a fraction from 0 to below 1 (0.5 = half off), got {value!r}")
    return float(value)


def _known_keys(raw: dict[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(raw) - known)
    if unknown:
        raise PricingFileError(f"{where}: unknown keys {', '.join(unknown)} (known: {', '.join(sorted(known))})")


def _unique(entries: tuple[ModelEntry, ...], origin: str) -> None:
    names: set[str] = set()
    ids: dict[str, str] = {}
    for entry in entries:
        if entry.name in names:
            raise PricingFileError(f'{origin}: models "{entry.name}": the name appears twice')
        names.add(entry.name)
        for model_id in entry.ids:
            if model_id in ids:
                raise PricingFileError(
                    f'{origin}: models "{entry.name}": id {model_id!r} is already in "{ids[model_id]}"'
                )
            ids[model_id] = entry.name
