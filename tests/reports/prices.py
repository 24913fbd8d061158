"""A fixed price table for the report tests (per million tokens), so estimates are exact whatever prices ship."""

from __future__ import annotations

from datetime import datetime

PER_MILLION = {
    "sonnet": (3.0, 15.0, 0.30, 3.75),
    "opus": (15.0, 75.0, 1.50, 18.75),
}


class FixedPrices:
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
    ) -> float | None:
        family = next((name for name in PER_MILLION if name in model), None)
        if family is None:
            return None
        i, o, r, c = PER_MILLION[family]
        tokens = input_tokens * i + output_tokens * o + cache_read_tokens * r + cache_creation_tokens * c
        return tokens / 1_000_000
