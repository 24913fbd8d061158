"""`ccmon report`: the analytics as tables in a terminal, or as JSON or CSV.

It asks a running ccmon over HTTP (`--url`, default the local server), or, with `--data-dir`, opens the store
directly (only when no server holds that folder: the embedded engine is one process's). The window is resolved here
and sent as explicit `from` and `to`, so what a table says it shows is what was asked for. Every failure is one line
on stderr saying what happened and what to do.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import httpx
import orjson
from pydantic import BaseModel

from ccmon.analytics.query import Filters
from ccmon.analytics.timerange import InvalidQuery, TimeRange
from ccmon.onboarding.caller import DEFAULT_URL
from ccmon.reports_format import Report, Window, render
from ccmon.store.facade import StoreError

if TYPE_CHECKING:
    from ccmon.alerts.model import Channel
    from ccmon.reports.report import WeeklyReport
    from ccmon.reports.weekly import Week
    from ccmon.store.facade import Store

TIMEOUT_S = 60.0

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
    "cost": Report("cost/breakdown", {"by": "team", "top": "20"}, "Cost by team", key="team"),
    "people": Report("people/leaderboard", {"limit": "50"}, "People", key="person"),
    "tools": Report("engineering/tools", {}, "Tools"),
    "sessions": Report(
        "sessions", {"sort": "cost_usd", "limit": "50"}, "Sessions by cost", hidden=("repository", "ended")
    ),
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
    url: str = DEFAULT_URL
    token: str | None = None
    data_dir: str | None = None
    database: str = "ccmon"
    week: str | None = None
    """`weekly`: an ISO week (2026-W47) or a date in it; default the last complete week (or the week of --from)."""
    format: str = "markdown"
    """`weekly`: markdown, html, slack or json."""
    out_file: str | None = None
    send: tuple[str, ...] = ()
    """`weekly`: alert channels (email, slack) to send the report to."""
    config_file: str | None = None


class ReportError(RuntimeError):
    """The report could not be made; the message says why and what to do. `status` is the command's exit status:
    2 for a flag that cannot be used, as for other usage errors."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def window_of(args: ReportArgs, now: datetime | None = None) -> Window:
    """The window the report shows: `--from`/`--to`, each defaulting as the API would (now; 30 days before `--to`)."""
    now = now or datetime.now(UTC).replace(microsecond=0)
    time_range = TimeRange.parse(args.start, args.end, now=now, names=("--from", "--to"))
    return Window(time_range, up_to_now=args.end is None)


def fetch(args: ReportArgs, window: Window) -> bytes:
    """The report's JSON over `window`, from the server or from the data folder."""
    report = REPORTS[args.kind]
    if args.data_dir:
        return _in_process(args, window.range)
    start, end = window.range.rfc3339()
    return _get(args, report.path, [*report.params.items(), ("from", start), ("to", end)])


def _get(args: ReportArgs, path: str, params: list[tuple[str, str]]) -> bytes:
    """GET /api/v1/`path` with the filters, as JSON; a `ReportError` saying what went wrong and what to do."""
    query: list[tuple[str, str | int | float | bool | None]] = [*params]
    query += [("team", t) for t in args.teams] + [("person", p) for p in args.persons]
    headers = {"authorization": f"Bearer {args.token}"} if args.token else {}
    base = args.url.rstrip("/")
    try:
        response = httpx.get(f"{base}/api/v1/{path}", params=query, headers=headers, timeout=TIMEOUT_S)
    except (httpx.UnsupportedProtocol, httpx.InvalidURL):
        raise ReportError(f"--url {args.url!r} is not a URL such as {DEFAULT_URL}", status=2) from None
    except httpx.TimeoutException:
        raise ReportError(
            f"{base} did not answer within {TIMEOUT_S:g} s: the server may be busy; try again, or a shorter --from"
        ) from None
    except httpx.TransportError as exc:
        raise ReportError(
            f"cannot reach {base} ({_reason(exc)}): is `ccmon serve` running? Use --url for another server, or "
            "--data-dir to read a data folder."
        ) from None
    return _body(response, base, args)


def _reason(exc: httpx.TransportError) -> str:
    """Why a connection failed, in a few words (`connection refused`), without the `[Errno 111]`."""
    text = re.sub(r"^\[Errno -?\d+\] ", "", str(exc))
    for needle, reason in (
        ("refused", "connection refused"),
        ("not known", "unknown host"),
        ("name resolution", "unknown host"),
        ("nodename nor servname", "unknown host"),
    ):
        if needle in text:
            return reason
    return text or type(exc).__name__


def _body(response: httpx.Response, base: str, args: ReportArgs) -> bytes:
    """The answer's JSON, or a `ReportError` saying what the server's status means for the user."""
    status = response.status_code
    if status == 401:
        if args.token:
            raise ReportError(f"{base} refused the API token (401): check --token against the server's api_tokens")
        raise ReportError(f"{base} asks for an API token (401): give one of the server's api_tokens with --token")
    if status == 403:
        raise ReportError(f"{base} refused the API token (403): check --token against the server's api_tokens")
    if status == 404:
        raise ReportError(
            f"{response.request.url.copy_with(query=None)} was not found (404): is {base} a ccmon server "
            "as new as this one? Check --url"
        )
    if status == 422:
        raise ReportError(f"{base} refused the query (422): {_detail(response)}")
    if status != 200:
        raise ReportError(f"{base} answered {status} {response.reason_phrase}: {_detail(response)}; see its log")
    try:
        orjson.loads(response.content)
    except orjson.JSONDecodeError:
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        raise ReportError(f"{base} answered {kind}, not JSON: is it a ccmon server? Check --url") from None
    return response.content


def _detail(response: httpx.Response) -> str:
    """The server's `detail` (FastAPI's validation errors are a list), else the start of the body."""
    try:
        detail = orjson.loads(response.content).get("detail")
    except (orjson.JSONDecodeError, AttributeError):
        detail = None
    if isinstance(detail, list):
        return "; ".join(
            f"{'.'.join(str(part) for part in item.get('loc', ())[1:])}: {item.get('msg')}"
            for item in detail
            if isinstance(item, dict)
        )
    if detail:
        return str(detail)
    return " ".join(response.text.split())[:200] or "no detail"


def open_folder(args: ReportArgs) -> Store:
    """The store of the data folder `--data-dir` (checked first: a mistyped path must not become a new store)."""
    folder = Path(args.data_dir or "").expanduser()
    if not folder.is_dir():
        raise ReportError(
            f"no data folder at {folder}: give --data-dir the folder `ccmon serve` stores into, or leave it out to "
            f"ask the server at {args.url}"
        )
    if not (folder / "metadata" / f"{args.database}.sql").is_file():
        raise ReportError(
            f"{folder} holds no ccmon data (no database {args.database}): give --data-dir the folder `ccmon serve` "
            "stores into"
        )
    from ccmon.store.facade import Store  # the engine loads only when used

    return Store.open(data_dir=str(folder), database=args.database)


def filters_of(args: ReportArgs) -> Filters:
    values = {"team": args.teams, "person": args.persons}
    return Filters({k: v for k, v in values.items() if v})


def _in_process(args: ReportArgs, time_range: TimeRange) -> bytes:
    from ccmon.analytics import Analytics, Query  # the engine loads only when used

    query = Query(time_range, filters=filters_of(args))
    store = open_folder(args)
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
        return results[args.kind]().model_dump_json().encode()
    finally:
        store.close()


def run(args: ReportArgs, out: TextIO = sys.stdout, now: datetime | None = None) -> int:
    try:
        window = window_of(args, now)
        filters = [f"team {team}" for team in args.teams] + [f"person {person}" for person in args.persons]
        render(REPORTS[args.kind], fetch(args, window), output=args.output, window=window, out=out, filters=filters)
        out.flush()  # here, so a reader that went away (`| head`) is noticed while the caller can handle it
    except InvalidQuery as exc:  # --from or --to
        print(f"ccmon report: {exc}", file=sys.stderr)
        return 2
    except (ReportError, StoreError) as exc:
        print(f"ccmon report: {exc}", file=sys.stderr)
        return exc.status if isinstance(exc, ReportError) else 1
    return 0


def weekly(args: ReportArgs, out: TextIO = sys.stdout, now: datetime | None = None) -> int:
    """`ccmon report weekly`: the week's report printed (or written to `--out`) and sent to `--send` channels."""
    from ccmon.reports.weekly import Week, WeekError  # the report's modules load only for this report

    try:
        given = args.week or (args.start[:10] if args.start else None)
        week = Week.parse(given) if given else Week.last_complete(now or datetime.now(UTC))
        channels = _channels(args)  # before the report is made or printed: a mistyped --send prints nothing
        report = _weekly_report(args, week)
        text = _weekly_text(report, args.format)
        if args.out_file:
            Path(args.out_file).write_text(text)
        else:
            out.write(text)
            out.flush()
        return _send(report, channels)
    except WeekError as exc:
        print(f"ccmon report: --week: {exc}", file=sys.stderr)
        return 2
    except (ReportError, StoreError, OSError, ValueError) as exc:
        print(f"ccmon report: {exc}", file=sys.stderr)
        return exc.status if isinstance(exc, ReportError) else 1


def _weekly_report(args: ReportArgs, week: Week) -> WeeklyReport:
    from ccmon.reports.report import WeeklyReport, build_report

    if not args.data_dir:
        body = _get(args, "reports/weekly", [("week", week.label), ("format", "json")])
        return WeeklyReport.model_validate_json(body)
    from ccmon.analytics import Analytics
    from ccmon.prices_config import open_prices
    from ccmon.settings import load_config

    prices = open_prices(load_config(config_file=args.config_file))
    store = open_folder(args)
    try:
        return build_report(Analytics(store, prices), week, filters=filters_of(args))
    finally:
        store.close()


def _weekly_text(report: WeeklyReport, fmt: str) -> str:
    from ccmon.reports.render import markdown, slack, to_html

    if fmt == "html":
        return to_html(report).html
    if fmt == "slack":
        return orjson.dumps(slack(report), option=orjson.OPT_INDENT_2).decode() + "\n"
    if fmt == "json":
        return orjson.dumps(orjson.loads(report.model_dump_json()), option=orjson.OPT_INDENT_2).decode() + "\n"
    return markdown(report)


def _channels(args: ReportArgs) -> list[Channel]:
    """The `--send` channels, from the alerts file (the `alerts_file` setting); a `ReportError` with status 2 (a flag
    that cannot be used) when there is no alerts file or a name is not one of its email or Slack channels."""
    if not args.send:
        return []
    from ccmon.alerts.config_file import load_alerts_file
    from ccmon.reports.send import ChannelError, resolve
    from ccmon.settings import load_config

    alerts_file = load_config(config_file=args.config_file).alerts_file
    if not alerts_file:
        raise ReportError("--send needs the alert channels: set alerts_file (CCMON_ALERTS_FILE or --config)", 2)
    try:
        return resolve(args.send, load_alerts_file(alerts_file).channels)
    except ChannelError as exc:
        raise ReportError(f"--send: {exc}", 2) from None


def _send(report: WeeklyReport, channels: list[Channel]) -> int:
    """Send to each channel; 1 when any failed, each failure named on stderr."""
    if not channels:
        return 0
    from ccmon.reports.send import send

    failed = [sent for sent in send(report, channels) if not sent.ok]
    for sent in failed:
        print(f"ccmon report: not sent to {sent.channel}: {sent.error}", file=sys.stderr)
    return 1 if failed else 0
