"""Log-spaced buckets: how the durations rollups keep a distribution, so percentiles need no raw rows.

A value goes to the bucket `i = ceil(log_g |v|)` (DDSketch's mapping, g = (1 + a) / (1 - a)), whose every value lies
within `RELATIVE_ERROR` (a = 1 %) of the bucket's representative `2 g^i / (g + 1)`. A rollup row keeps, per measure,
a map from bucket key to count (`SimpleAggregateFunction(sumMap, ...)`), which merges add up, at any grain.

The key is an `Int16` ordered as the values are: 0 is exactly zero, positive values are `OFFSET + i`, negative ones
`-(OFFSET + i)` of their magnitude (no duration should be negative, but nothing here assumes it). Indices are
clamped to ±`MAX_INDEX` (magnitudes between e^-100 and e^100, far beyond any duration in milliseconds), and values
that are not finite count as zero, as the exact sums do.

`bucket_sql` is the SQL of the key (used by the rollups' materialized views and their raw-row edges);
`representative` reads a key back in Python. Both use `GAMMA`, so they cannot disagree.
"""

from __future__ import annotations

import math

RELATIVE_ERROR = 0.01
"""a: every value of a bucket is within this fraction of the bucket's representative."""
GAMMA = (1 + RELATIVE_ERROR) / (1 - RELATIVE_ERROR)
OFFSET = 16_384
MAX_INDEX = 5_000
BUCKETS_TYPE = "Tuple(Array(Int16), Array(UInt64))"
"""A distribution as `sumMap` keeps it: sorted bucket keys and their counts."""


def bucket_sql(value: str) -> str:
    """The bucket key of the Float64 expression `value` (non-null), in SQL."""
    magnitude = f"abs({value})"
    index = f"least(greatest(ceil(log({magnitude}) / {math.log(GAMMA)!r}), -{MAX_INDEX}), {MAX_INDEX})"
    return (
        f"toInt16(multiIf(NOT isFinite({value}) OR {value} = 0, 0, "
        f"{value} > 0, {OFFSET} + {index}, -({OFFSET} + {index})))"
    )


def representative(key: int) -> float:
    """The value a bucket stands for: within `RELATIVE_ERROR` of every value counted in it."""
    if key == 0:
        return 0.0
    index = abs(key) - OFFSET
    value = 2 * GAMMA**index / (GAMMA + 1)
    return value if key > 0 else -value
