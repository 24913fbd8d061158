"""How `ccmon report` prints an answer: a table for people, CSV for other programs, or the API's JSON as it is.

Tables are titled with the report, its window and its filters, and read alike whatever the report: thousands
separators on every number, costs to the cent, fractions (`share`, `*_rate`) and percentages (`*_pct`) as percent,
times to the minute, numbers right-aligned, nothing folded. CSV keeps every value exactly as the API gives it:
decimals are read as decimals and written in plain notation, never through a binary float.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TextIO

import orjson
from rich.console import Console
from rich.table import Table

from ccmon.analytics.results import flatten
from ccmon.analytics.timerange import TimeRange
from ccmon.text import plural

_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]00:00)$")
_UNITS = (
    (timedelta(days=1), "day"),
    (timedelta(hours=1), "hour"),
    (timedelta(minutes=1), "minute"),
    (timedelta(seconds=1), "second"),
)


@dataclass(frozen=True)
class Report:
    path: str
    """The API path under /api/v1."""
    params: Mapping[str, str]
    title: str
    fields: tuple[str, ...] = ()
    """For an answer without rows: the fields a table or CSV shows (`a.b` for nested ones); all when empty. JSON is
    always the whole answer."""
    key: str | None = None
    """What the rows' `key` is (`team`, `person`): the name of that column in tables and CSV."""
    hidden: tuple[str, ...] = ()
    """Columns a table leaves out (CSV has them all), to keep it within a terminal."""


@dataclass(frozen=True)
class Window:
    range: TimeRange
    up_to_now: bool
    """Whether the window ends now (no `--to` given)."""

    def describe(self) -> str:
        """`2026-10-31 05:00 → 2026-11-30 05:00 UTC (last 30 days)`."""
        start, end = self.range.start, self.range.end
        span = _span(end - start)
        return f"{_instant(start)} → {_instant(end)} UTC ({'last ' if self.up_to_now else ''}{span})"


def _instant(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S" if value.second or value.microsecond else "%Y-%m-%d %H:%M")


def _span(delta: timedelta) -> str:
    """`30 days`, `2 hours 30 minutes`."""
    parts = []
    for unit, name in _UNITS:
        count, delta = divmod(delta, unit)
        if count:
            parts.append(plural(count, name))
    return " ".join(parts) or "less than a second"


def rows_of(report: Report, body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rows to show: the `rows` of tabular reports (`key` named after what it is), or one `metric, value` row
    per field of the others."""
    if isinstance(body.get("rows"), list):
        rows = [flatten(row) for row in body["rows"]]
        if report.key:
            rows = [{(report.key if name == "key" else name): value for name, value in row.items()} for row in rows]
        return rows
    fields = flatten(dict(body))
    return [{"metric": key, "value": fields[key]} for key in report.fields or fields]


def render(
    report: Report, body: bytes, *, output: str, window: Window, out: TextIO, filters: Sequence[str] = ()
) -> None:
    """Print the API's answer `body` as `output` (table, json or csv); `filters` (`team platform`) go in the title."""
    if output == "json":
        out.write(orjson.dumps(orjson.loads(body), option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    rows = rows_of(report, json.loads(body, parse_float=Decimal))
    columns = list(dict.fromkeys(key for row in rows for key in row))
    if output == "csv":
        if columns:  # no rows: nothing, rather than a header naming no column
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows([_csv_value(row.get(column)) for column in columns] for row in rows)
        return
    out.write(" · ".join([report.title, window.describe(), *filters]) + "\n")
    if not rows:
        out.write("nothing in this window" + (" for these filters" if filters else "") + "\n")
        return
    shown = [column for column in columns if column not in report.hidden]
    table = Table()
    for column in shown:
        numeric = all(_is_number(row.get(column)) for row in rows if row.get(column) is not None)
        table.add_column(column, justify="right" if numeric else "left", no_wrap=True)
    for row in rows:
        name = row.get("metric") if "metric" in row else None
        table.add_row(
            *(_cell(str(name) if column == "value" and name else column, row.get(column)) for column in shown)
        )
    # As wide as the table needs: ids and times stay whole, and a terminal too narrow shows the lines wrapped.
    Console(file=out, width=10_000, highlight=False, color_system=None).print(table, crop=False)


def _csv_value(value: object) -> object:
    """As the API gave it: a decimal in plain notation (`0.000012`, not `1.2E-5`), nothing for null."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _cell(field: str, value: object) -> str:
    """A value of `field` (a column, or the metric of a `metric, value` row) for people."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return f"{value[:10]} {value[11:16]}" if _TIMESTAMP.match(value) else value
    if not _is_number(value):
        return str(value)
    leaf = field.rsplit(".", 1)[-1]
    number = Decimal(str(value)) if isinstance(value, float) else value
    assert isinstance(number, int | Decimal)
    if leaf.endswith("_pct"):  # already in percent (cost_change_pct)
        return f"{number:+,.1f}%"
    if leaf.endswith(("_rate", "share")):  # fractions, 0..1
        return f"{number * 100:,.1f}%"
    if "cost" in leaf or leaf.endswith("_usd"):
        return f"{number:,.2f}"
    if isinstance(number, int):
        return f"{number:,}"
    return f"{number:,.1f}"
