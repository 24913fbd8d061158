"""Result types shared by the analytics queries, and their CSV form."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel


def number(value: object) -> float:
    """A number ClickHouse returned (int, float or Decimal); anything else, such as NULL, is 0."""
    return float(value) if isinstance(value, int | float | Decimal) else 0.0


def integer(value: object) -> int:
    return round(number(value))


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None when there is nothing to divide by (never a division error)."""
    return numerator / denominator if denominator else None


def utc(instant: datetime) -> datetime:
    """ClickHouse returns naive datetimes for UTC columns: make them aware."""
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant


class Point(BaseModel):
    """One value of one series in one time bucket."""

    t: datetime
    series: str
    value: float


class TimeSeries(BaseModel):
    bucket: str
    """The bucket size used (`1m` ... `1w`), chosen from the range unless asked for."""
    rows: list[Point]


def to_csv(rows: Sequence[BaseModel]) -> str:
    """Rows as CSV with a header; nested values are flattened as `field.subfield`."""
    flat = [flatten(row.model_dump(mode="json")) for row in rows]
    columns: list[str] = []
    for row in flat:
        columns.extend(k for k in row if k not in columns)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(flat)
    return out.getvalue()


def flatten(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects as `field.subfield` keys."""
    flat: dict[str, object] = {}
    for key, item in value.items():
        if isinstance(item, dict):
            flat.update(flatten(item, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = item
    return flat
