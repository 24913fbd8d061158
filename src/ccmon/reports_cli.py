"""`ccmon report`: the analytics as tables in a terminal, or as JSON or CSV.

It asks a running ccmon over HTTP (`--url`, default the local server), or, with `--data-dir`, opens the store
directly (only when no server holds that folder: the embedded engine is one process's).
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

import httpx
import orjson
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from ccmon.analytics.results import flatten
from ccmon.analytics.timerange import InvalidQuery
from ccmon.store.facade import StoreError


@dataclass(frozen=True)
class Report:
    path: str
    """The API path under /api/v1."""
    params: Mapping[str, str]
    title: str
    fields: tuple[str, ...] = ()
    """For an answer without rows: the fields a table or CSV shows (`a.b` for nested ones); all when empty. JSON is
    always the whole answer."""


REPORTS: Mapping[str, Report] = {
    "overview": Report(
        "overview",
        {},
        "Overview",
        # Seed 000's weekly report (total cost, active users, PRs, cost per PR, cost per user), and what goes with it.
        (
            "current.cost_usd",
            "cost_change_pct",
            "active_users",
            "cost_per_user",
            "current.pull_requests",
            "cost_per_pull_request",
            "current.commits",
            "current.sessions",
            "cost_per_session",
            "lines_changed",
            "lines_per_active_hour",
            "edit_accept_rate",
            "unattributed_cost_usd",
        ),
    ),
    "summary": Report("summary", {}, "Summary"),
    "cost": Report("cost/breakdown", {"by": "team", "top": "20"}, "Cost by team"),
    "people": Report("people/leaderboard", {"limit": "50"}, "People"),
    "tools": Report("engineering/tools", {}, "Tools"),
    "sessions": Report("sessions", {"sort": "cost_usd", "limit": "50"}, "Sessions by cost"),
}


@dataclass(frozen=True)
class ReportArgs:
    kind: str
    start: str | None = None
    end: str | None = None
    teams: tuple[str, ...] = ()
    persons: tuple[str, ...] = ()
    output: str = "table"
    """table, json or csv."""
    url: str = "http://127.0.0.1:3000"
    token: str | None = None
    data_dir: str | None = None
    database: str = "ccmon"


def fetch(args: ReportArgs) -> dict[str, Any]:
    """The report's JSON, from the server or from the data folder."""
    report = REPORTS[args.kind]
    if args.data_dir:
        return _in_process(report, args)
    params: list[tuple[str, str | int | float | bool | None]] = [*report.params.items()]
    params += [("from", args.start)] if args.start else []
    params += [("to", args.end)] if args.end else []
    params += [("team", t) for t in args.teams] + [("person", p) for p in args.persons]
    headers = {"authorization": f"Bearer {args.token}"} if args.token else {}
    response = httpx.get(f"{args.url.rstrip('/')}/api/v1/{report.path}", params=params, headers=headers, timeout=60)
    if response.status_code != 200:
        raise ReportError(f"{response.status_code} from {args.url}: {response.text[:500]}")
    body: dict[str, Any] = response.json()
    return body


class ReportError(RuntimeError):
    """The report could not be made; the message says why."""


def _in_process(report: Report, args: ReportArgs) -> dict[str, Any]:
    from ccmon.analytics import Analytics, Filters, Query, TimeRange  # the engine loads only when used
    from ccmon.store.facade import Store

    values = {"team": args.teams, "person": args.persons}
    query = Query(TimeRange.parse(args.start, args.end), filters=Filters({k: v for k, v in values.items() if v}))
    store = Store.open(data_dir=args.data_dir, database=args.database)
    try:
        analytics = Analytics(store)
        results: dict[str, Callable[[], BaseModel]] = {
            "overview": lambda: analytics.overview(query),
            "summary": lambda: analytics.summary(query),
            "cost": lambda: analytics.cost_by(query, "team", 20),
            "people": lambda: analytics.leaderboard(
                query, group="person", sort="cost_usd", descending=True, limit=50, offset=0
            ),
            "tools": lambda: analytics.tools(query),
            "sessions": lambda: analytics.sessions(query, sort="cost_usd", descending=True, limit=50, offset=0),
        }
        body: dict[str, Any] = results[args.kind]().model_dump(mode="json")
        return body
    finally:
        store.close()


def rows_of(report: Report, body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rows to show: the `rows` of tabular reports, or one `metric, value` row per field of the others."""
    if isinstance(body.get("rows"), list):
        return [flatten(row) for row in body["rows"]]
    fields = flatten(dict(body))
    return [{"metric": key, "value": fields[key]} for key in report.fields or fields]


def render(args: ReportArgs, body: Mapping[str, Any], out: TextIO = sys.stdout) -> None:
    rows = rows_of(REPORTS[args.kind], body)
    if args.output == "json":
        out.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    columns = list(dict.fromkeys(key for row in rows for key in row))
    if args.output == "csv":
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return
    table = Table(title=REPORTS[args.kind].title, show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(row.get(column)) for column in columns))
    Console(file=out, width=max(100, min(200, 16 * len(columns)))).print(table)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.6g}"
    return str(value)


def run(args: ReportArgs, out: TextIO = sys.stdout) -> int:
    try:
        render(args, fetch(args), out)
        out.flush()  # here, so a reader that went away (`| head`) is noticed while the caller can handle it
    except (ReportError, InvalidQuery, StoreError, httpx.HTTPError) as exc:
        print(f"ccmon report: {exc}", file=sys.stderr)
        return 1
    return 0
