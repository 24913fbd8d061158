"""`ccmon directory load|list|apply`: the directory of people, and the wiring `ccmon serve` uses for it.

Against a running server (`--url`, with an admin API token in `--token`) through `/api/v1/directory`, or, with
`--data-dir`, directly in a stopped server's data folder (the embedded engine is one process's). `load` replaces the
directory (`--merge`: adds and updates only); `apply` re-attributes stored telemetry and says what changed
(`--dry-run`: what would). Loads and applies are in the audit log.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import httpx
import orjson

from ccmon.admin_cli import AdminCliError, add_target_arguments, open_data_folder, request_admin_api
from ccmon.directory.people import FIELDS, DirectoryError, format_of, parse
from ccmon.directory.pseudonyms import person_key_of
from ccmon.settings import Config, ConfigError, load_config
from ccmon.store.facade import Store, StoreError

if TYPE_CHECKING:  # the engine, the analytics and the web layer load only when used (`ccmon --help` stays fast)
    from ccmon.analytics.adoption import Headcount
    from ccmon.analytics.query import Query
    from ccmon.auth.audit import Audit
    from ccmon.directory.reattribute import Reattribution
    from ccmon.directory.registry import Directory
    from ccmon.web.directory_routes import DirectoryService

log = logging.getLogger(__name__)

_MEDIA = {"csv": "text/csv", "yaml": "application/yaml", "json": "application/json"}


class DirectoryCliError(AdminCliError):
    """`ccmon directory`'s one-line failures."""


# Composition, for `ccmon serve` and the offline commands.


def load_file(directory: Directory, path: str, audit: Audit | None, actor: str, *, merge: bool = False) -> str:
    """Load a CSV or YAML file into the directory (replacing it unless `merge`); the change's summary."""
    try:
        data = Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise DirectoryError(f"{path}: {exc.strerror or exc}") from None
    try:
        content = parse(data, format_of(path))
    except DirectoryError as exc:
        if audit is not None:
            audit.record(actor, "directory.load", path, "failed", detail=str(exc))
        raise DirectoryError(f"{path}: {exc}") from None
    change = directory.merge(content) if merge else directory.replace(content)
    if audit is not None:
        audit.record(actor, "directory.load", path, detail=f"{'merge' if merge else 'replace'}: {change.summary()}")
    return change.summary()


def open_directory(config: Config, store: Store, audit: Audit | None) -> Directory:
    """The server's directory, with `directory_file` loaded into it (a bad file stops the start: ConfigError)."""
    from ccmon.directory.registry import Directory

    directory = Directory(store)
    if config.directory_file:
        try:
            summary = load_file(directory, config.directory_file, audit, "directory_file")
        except DirectoryError as exc:
            raise ConfigError(f"directory_file {exc}") from None
        log.info("directory loaded from %s: %s", config.directory_file, summary)
    return directory


def directory_service(config: Config, store: Store, directory: Directory, audit: Audit | None) -> DirectoryService:
    """What the directory routes need: re-attribution and headcount over this store."""
    from ccmon.analytics import adoption
    from ccmon.directory.reattribute import reattribute
    from ccmon.web.directory_routes import DirectoryService

    person_key = person_key_of(config, store)

    def apply(dry_run: bool) -> Reattribution:
        return reattribute(
            store, directory.refresh(), dry_run=dry_run, person_key=person_key, hashed=config.hash_emails
        )

    def headcount(query: Query) -> Headcount:
        return adoption.headcount(store, query, directory.snapshot().people.values(), person_key)

    return DirectoryService(directory, apply, headcount, audit)


# The command line.


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        "directory",
        help="load, list and apply the directory of people",
        description="The directory of people (email, name, team, department, cost center, manager) whose attribution "
        "wins over what clients send, and its email rules.",
    )
    actions = parser.add_subparsers(dest="action", required=True)
    load = actions.add_parser("load", help="load a CSV or YAML file, replacing the directory")
    load.add_argument("file", help=f"CSV with the header {','.join(FIELDS)}, or YAML with people: and rules:")
    load.add_argument("--merge", action="store_true", help="add and update people, keep the others")
    actions.add_parser("list", help="list the people and rules")
    apply = actions.add_parser("apply", help="re-apply the directory to stored telemetry")
    apply.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")
    for action in actions.choices.values():
        add_target_arguments(action)
        action.add_argument("--config", help="TOML settings (hash_emails, hash_secret) for --data-dir")
    return parser


def _remote(args: argparse.Namespace) -> Any:
    path = "/api/v1/directory"
    if args.action == "list":
        return _ask(args, lambda c: c.get(path))
    if args.action == "apply":
        dry_run = str(bool(args.dry_run)).lower()
        return _ask(args, lambda c: c.post(f"{path}/apply", params={"dry_run": dry_run}))
    try:  # the file is read before the server is asked: a typo is not the server's fault
        media = _MEDIA[format_of(args.file)]
        data = Path(args.file).expanduser().read_bytes()
    except OSError as exc:
        raise DirectoryCliError(f"{args.file}: {exc.strerror or exc}", status=2) from None
    except DirectoryError as exc:
        raise DirectoryCliError(str(exc), status=2) from None
    mode = "merge" if args.merge else "replace"
    return _ask(args, lambda c: c.put(path, content=data, params={"mode": mode}, headers={"content-type": media}))


def _ask(args: argparse.Namespace, send: Callable[[httpx.Client], httpx.Response]) -> Any:
    """One request to the directory API, failing with the directory's own error class and 403 explanation."""
    return request_admin_api(
        args.url, args.token, send, forbidden="the directory needs an admin API token", error=DirectoryCliError
    )


def _offline(args: argparse.Namespace) -> Any:
    from ccmon.auth.audit import Audit
    from ccmon.directory.registry import Directory

    config = load_config(config_file=args.config)
    with open_data_folder(args.data_dir, args.database, error=DirectoryCliError) as store:
        audit = Audit(store)
        directory = Directory(store)
        actor = f"cli:{getpass.getuser()}"
        if args.action == "load":
            try:
                content = parse(Path(args.file).expanduser().read_bytes(), format_of(args.file))
            except OSError as exc:
                raise DirectoryCliError(f"{args.file}: {exc.strerror or exc}", status=2) from None
            except DirectoryError as exc:
                audit.record(actor, "directory.load", args.file, "failed", detail=str(exc))
                raise DirectoryCliError(f"{args.file}: {exc}", status=2) from None
            change = directory.merge(content) if args.merge else directory.replace(content)
            mode = "merge" if args.merge else "replace"
            audit.record(actor, "directory.load", args.file, detail=f"{mode}: {change.summary()}")
            return change.as_dict()
        if args.action == "list":
            return _listing(directory)
        result = directory_service(config, store, directory, audit).apply(bool(args.dry_run))
        if not args.dry_run:
            audit.record(actor, "directory.apply", "directory", detail=result.summary())
        return result.as_dict()


def _listing(directory: Directory) -> dict[str, Any]:
    snapshot = directory.refresh()
    return {
        "people": [person.as_dict() for person in snapshot.people.values()],
        "rules": [str(rule) for rule in snapshot.rules],
    }


def _print(action: str, result: dict[str, Any], out: TextIO) -> None:
    if action == "apply":
        verb = "would change" if result["dry_run"] else "changed"
        tables = ", ".join(f"{table} {rows}" for table, rows in result["tables"].items())
        print(f"{verb} {result['rows']} rows ({tables}); rollups rebuilt for {len(result['days'])} days", file=out)
        for change in result["people"]:
            old = "/".join(change["old"].values())
            new = "/".join(change["new"].values())
            print(f"  {change['email'] or change['person']}: {old} -> {new} (team/department/cost center)", file=out)
        return
    if action == "load" and "added" in result:
        print(
            f"{len(result['added'])} added, {len(result['updated'])} updated, {len(result['removed'])} removed, "
            f"{result['unchanged']} unchanged",
            file=out,
        )
        return
    people = result.get("people", [])
    rows = [[str(p.get(name, "")) for name in FIELDS] for p in people]
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(FIELDS)]
    print("  ".join(c.ljust(w) for c, w in zip(FIELDS, widths, strict=True)).rstrip(), file=out)
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip(), file=out)
    if not rows:
        print("(nobody in the directory)", file=out)
    for rule in result.get("rules", []):
        print(f"rule: {rule}", file=out)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout  # read at call time: a test (or a caller) may have replaced it
    try:
        result = _offline(args) if args.data_dir else _remote(args)
    except (DirectoryCliError, ConfigError) as exc:
        print(f"ccmon directory: {exc}", file=sys.stderr)
        return exc.status if isinstance(exc, DirectoryCliError) else 2
    except StoreError as exc:
        print(f"ccmon directory: {exc}", file=sys.stderr)
        return 1
    if args.json:
        out.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        _print(args.action, result, out)
    return 0
