"""`ccmon import transcripts|admin-api`: history from before ccmon (or from where it was not running) into
`imported_usage`.

The records are read here (Claude Code's transcripts on this machine, or Anthropic's Admin API) and stored either by
a running server (`--url`, an admin token in `--token`: `POST /api/v1/imports` in batches, since the embedded store
belongs to the server process) or, with `--data-dir`, directly in a stopped server's data folder. Either way the
rows are attributed, priced and deduplicated where they are written (`ccmon.imports.records.ImportWriter`), so a
second import adds nothing. A progress bar shows on stderr at a terminal; a summary line ends the run.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TextIO

import orjson

from ccmon.admin_cli import AdminCliError, add_target_arguments, open_data_folder, request_admin_api
from ccmon.imports.model import ImportRecord, WriteOutcome
from ccmon.settings import ConfigError, load_config
from ccmon.store.facade import StoreError
from ccmon.text import plural

BATCH = 2000
"""Records per request to a server (well under `ccmon.web.history_routes.MAX_RECORDS`)."""

Write = Callable[[Sequence[ImportRecord]], WriteOutcome]


class ImportCliError(AdminCliError):
    """`ccmon import`'s one-line failures."""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        "import",
        help="import usage history: Claude Code's transcripts, Anthropic's Admin API",
        description="Import usage from before ccmon: Claude Code's local transcripts or Anthropic's Admin API Claude "
        "Code report. Per person and UTC day, OTLP telemetry wins over imports, transcripts over the Admin API.",
    )
    sources = parser.add_subparsers(dest="source", required=True)
    transcripts = sources.add_parser("transcripts", help="Claude Code's ~/.claude/projects/**/*.jsonl")
    transcripts.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="files or folders (default: the projects of CLAUDE_CONFIG_DIR or ~/.claude)",
    )
    transcripts.add_argument("--person", help="the email to attribute to (default: the login in ~/.claude.json)")
    admin = sources.add_parser("admin-api", help="Anthropic's /v1/organizations/usage_report/claude_code")
    admin.add_argument("--from", dest="start", required=True, help="first UTC day, YYYY-MM-DD")
    admin.add_argument("--to", dest="end", required=True, help="last UTC day, YYYY-MM-DD (included)")
    admin.add_argument("--admin-key", help="an Admin API key, sk-ant-admin... (default: $ANTHROPIC_ADMIN_KEY)")
    admin.add_argument("--base-url", help="the Anthropic API (default: https://api.anthropic.com)")
    admin.add_argument(
        "--actors",
        choices=("users", "all"),
        default="users",
        help="users (default): only actors with an email; all: also API-key actors, whose days cannot be matched to "
        "their telemetry and so are added to it, never shadowed",
    )
    for action in (transcripts, admin):
        add_target_arguments(action)
        action.add_argument("--config", help="TOML settings (pricing_file, hash_emails, directory) for --data-dir")
        action.add_argument("--dry-run", action="store_true", help="read and count, store nothing")
    return parser


@dataclass
class Summary:
    files: int = 0
    days: int = 0
    lines: int = 0
    messages: int = 0
    records: int = 0
    imported: int = 0
    duplicates: int = 0
    malformed: int = 0
    unpriced: int = 0
    api_key_skipped: int = 0
    """Admin API rows of API-key actors left out (`--actors users`)."""
    incomplete_days: int = 0
    """Admin API days left for a later import: not over for an hour yet, so the report may not hold all of them."""

    def add(self, outcome: WriteOutcome) -> None:
        self.imported += outcome.imported
        self.duplicates += outcome.duplicates
        self.unpriced += outcome.unpriced

    def line(self, source: str, dry_run: bool) -> str:
        read = (
            f"{plural(self.files, 'file')}, {plural(self.lines, 'line')}, {plural(self.messages, 'message')}"
            if source == "transcripts"
            else f"{plural(self.days, 'day')}, {plural(self.records, 'row')}"
        )
        stored = "dry run: nothing stored" if dry_run else f"{self.imported:,} imported"
        unpriced = f", {self.unpriced:,} without a price (unknown model)" if self.unpriced else ""
        skipped = f"{self.duplicates:,} duplicates skipped, {self.malformed:,} malformed"
        api_keys = (
            f", {self.api_key_skipped:,} API-key rows skipped (cannot be matched to telemetry)"
            if self.api_key_skipped
            else ""
        )
        incomplete = (
            f", {plural(self.incomplete_days, 'day')} not complete yet left for a later import"
            if self.incomplete_days
            else ""
        )
        return f"{source}: {read}; {stored}, {skipped}{unpriced}{api_keys}{incomplete}"


class _Bar:
    """A rich progress bar on stderr when it is a terminal; nothing otherwise."""

    def __init__(self, description: str, total: int) -> None:
        self._progress: Any = None
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import Progress

            self._progress = Progress(console=Console(stderr=True), transient=True)
            self._progress.start()
            self._task = self._progress.add_task(description, total=total)

    def advance(self, steps: int = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, steps)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()


@contextmanager
def _sink(args: argparse.Namespace) -> Iterator[Write]:
    """Where records go: nowhere (`--dry-run`), a data folder, or a server."""
    if args.dry_run:
        yield lambda records: WriteOutcome(0, 0, 0)
        return
    if args.data_dir:
        from ccmon.directory.registry import Directory
        from ccmon.imports.records import ImportWriter
        from ccmon.prices_config import open_prices

        config = load_config(config_file=args.config)
        prices = open_prices(config)
        with open_data_folder(args.data_dir, args.database, error=ImportCliError) as store:
            yield ImportWriter.from_config(config, store, Directory(store), prices).write
        return

    def post(records: Sequence[ImportRecord]) -> WriteOutcome:
        body = orjson.dumps({"records": [asdict(record) for record in records]})
        answer = request_admin_api(
            args.url,
            args.token,
            lambda client: client.post("/api/v1/imports", content=body, headers={"content-type": "application/json"}),
            forbidden="importing history needs an admin API token",
            not_found="has no /api/v1/imports (404): is it a ccmon server as new as this one?",
            error=ImportCliError,
        )
        return WriteOutcome(int(answer["imported"]), int(answer["duplicates"]), int(answer["unpriced"]))

    yield post


def _write(write: Write, records: Sequence[ImportRecord], summary: Summary) -> None:
    bar = _Bar("storing", len(records))
    try:
        for start in range(0, len(records), BATCH):
            batch = records[start : start + BATCH]
            summary.add(write(batch))
            bar.advance(len(batch))
    finally:
        bar.close()


def import_transcripts(args: argparse.Namespace, home: Path, env: dict[str, str]) -> Summary:
    from ccmon.imports.transcripts import Identity, ReadStats, login_identity, read_transcripts, transcript_files

    try:
        files = transcript_files([Path(p).expanduser() for p in args.paths], env, home)
    except FileNotFoundError as exc:
        raise ImportCliError(str(exc), status=2) from None
    if not files:
        where = " ".join(args.paths) or "CLAUDE_CONFIG_DIR/projects, ~/.config/claude/projects or ~/.claude/projects"
        raise ImportCliError(f"no transcripts (*.jsonl) in {where}: give the folder with PATH", status=2)
    given = args.person or ""
    who = (Identity(email=given) if "@" in given else Identity(person=given)) if given else login_identity(env, home)
    if not who.email and not who.person:
        print("ccmon import: no login in .claude.json: the rows have no person; give --person", file=sys.stderr)
    stats = ReadStats()
    bar = _Bar("reading transcripts", len(files))
    try:
        records = read_transcripts(files, who, stats, on_file=lambda _: bar.advance())
    finally:
        bar.close()
    for problem in stats.unreadable_files:
        print(f"ccmon import: skipped {problem}", file=sys.stderr)
    summary = Summary(
        files=stats.files,
        lines=stats.lines,
        messages=stats.messages,
        records=len(records),
        duplicates=stats.duplicates,
        malformed=stats.malformed,
    )
    with _sink(args) as write:
        _write(write, records, summary)
    return summary


def _day(text: str, flag: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ImportCliError(f"{flag} {text!r} is not a date such as 2026-01-31", status=2) from None


def import_admin_api(args: argparse.Namespace, env: dict[str, str]) -> Summary:
    from ccmon.imports.admin_api import (
        DEFAULT_BASE_URL,
        AdminApiClient,
        AdminApiError,
        complete_days,
        days,
        from_api_key,
        records_of,
    )

    key = args.admin_key or env.get("ANTHROPIC_ADMIN_KEY", "")
    if not key:
        raise ImportCliError("the Admin API needs a key: give --admin-key or set ANTHROPIC_ADMIN_KEY", status=2)
    try:
        asked = days(_day(args.start, "--from"), _day(args.end, "--to"))
    except AdminApiError as exc:
        raise ImportCliError(str(exc), status=2) from None
    wanted = complete_days(asked, datetime.now(UTC))
    api = AdminApiClient(key, args.base_url or DEFAULT_BASE_URL)
    summary = Summary(incomplete_days=len(asked) - len(wanted))
    bar = _Bar("reading the Admin API", len(wanted))
    try:
        with _sink(args) as write, api.client() as client:
            for day in wanted:
                records = [record for item in api.day(day, client) for record in records_of(item, day)]
                summary.days += 1
                summary.records += len(records)
                if args.actors == "users":
                    kept = [record for record in records if not from_api_key(record)]
                    summary.api_key_skipped += len(records) - len(kept)
                    records = kept
                for start in range(0, len(records), BATCH):
                    summary.add(write(records[start : start + BATCH]))
                bar.advance()
    except AdminApiError as exc:
        raise ImportCliError(str(exc)) from None
    finally:
        bar.close()
    return summary


def run(args: argparse.Namespace, out: TextIO | None = None, home: Path | None = None) -> int:
    out = out or sys.stdout
    env = dict(os.environ)
    home = home or Path.home()
    try:
        transcripts = args.source == "transcripts"
        summary = import_transcripts(args, home, env) if transcripts else import_admin_api(args, env)
    except ImportCliError as exc:
        print(f"ccmon import: {exc}", file=sys.stderr)
        return exc.status
    except ConfigError as exc:
        print(f"ccmon import: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"ccmon import: {exc}", file=sys.stderr)
        return 1
    if args.json:
        out.write(orjson.dumps(asdict(summary) | {"source": args.source, "dry_run": args.dry_run}).decode() + "\n")
    else:
        print(summary.line(args.source, args.dry_run), file=out)
    return 0
