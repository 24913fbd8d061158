"""`ccmon rules validate|export|list`: check an alerts file, export the rules for Prometheus, list what ships.

`validate FILE` reads the alerts file as the server would (`ccmon.alerts.config_file`) and prints what it holds or
the first problem, with its line. `export --prometheus` writes the rules as a Prometheus rule file: the default rules
with an alerts file's rules and changes (`--file`), or the rules of a running server (`--url`, with an API token).
`list` shows the default rules and the signals a rule can watch.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import httpx

from ccmon.alerts.config_file import AlertsFile, AlertsFileError, load_alerts_file
from ccmon.alerts.defaults import DEFAULT_RULES
from ccmon.alerts.model import Rule
from ccmon.alerts.prometheus import prometheus_rules
from ccmon.alerts.rules import format_duration, parse_rule
from ccmon.alerts.signals import SIGNALS, prometheus_number

TIMEOUT_S = 30


class RulesCliError(RuntimeError):
    """A failure reported in one line, with the exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register `rules` and its sub-commands on the top-level sub-parsers."""
    rules: argparse.ArgumentParser = commands.add_parser(
        "rules",
        help="validate an alerts file, export alert rules for Prometheus, list the default rules",
        description="Alert rules: check an alerts file before the server loads it, write the rules as a Prometheus "
        "rule file for Alertmanager, or list the rules and signals ccmon ships.",
    )
    actions = rules.add_subparsers(dest="action", required=True)
    validate = actions.add_parser("validate", help="check an alerts file (exit 1 with the line of the first problem)")
    validate.add_argument("file", help="the alerts YAML file")
    export = actions.add_parser("export", help="write the rules as a Prometheus rule file")
    export.add_argument(
        "--prometheus", action="store_true", required=True, help="Prometheus rule-file YAML (the one format)"
    )
    source = export.add_mutually_exclusive_group()
    source.add_argument("--file", help="an alerts file whose rules and default-rule changes are exported too")
    source.add_argument("--url", help="export a running server's rules instead (its API, e.g. http://127.0.0.1:8080)")
    export.add_argument("--token", help="an API token for --url, if the server asks for one")
    export.add_argument("-o", "--output", help="write to this file instead of standard output")
    actions.add_parser("list", help="list the default rules and the signals a rule can watch")
    return rules


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        if args.action == "validate":
            print(validate(args.file), file=out)
        elif args.action == "export":
            text = prometheus_rules(export_rules(args.file, args.url, args.token))
            if args.output:
                Path(args.output).write_text(text, encoding="utf-8")
            else:
                out.write(text)
        else:
            out.write(listing())
    except RulesCliError as exc:
        print(f"ccmon rules: {exc}", file=err)
        return exc.status
    return 0


def validate(path: str) -> str:
    """What the alerts file holds, once it is known to be valid."""
    return f"{path}: OK ({_load(path).summary()})"


def export_rules(path: str | None, url: str | None, token: str | None) -> list[Rule]:
    """The rules to export: a server's, or the defaults with a file's rules and changes (a file's rule of a default's
    id replaces it)."""
    if url:
        return _server_rules(url, token)
    rules = {rule.id: rule for rule in DEFAULT_RULES}
    if path:
        rules |= {rule.id: rule for rule in _load(path).rules}
    return list(rules.values())


def _load(path: str) -> AlertsFile:
    try:
        return load_alerts_file(path)
    except AlertsFileError as exc:
        raise RulesCliError(str(exc)) from None


def _server_rules(url: str, token: str | None) -> list[Rule]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    target = f"{url.rstrip('/')}/api/v1/alerts/rules"
    try:
        response = httpx.get(target, headers=headers, timeout=TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise RulesCliError(f"cannot reach {target}: {exc}") from None
    if response.status_code in {401, 403}:
        raise RulesCliError(f"{target} answered {response.status_code}: pass an API token with --token")
    if response.status_code != 200:
        raise RulesCliError(f"{target} answered {response.status_code}: {response.text[:200]}")
    try:
        listed = response.json()["rules"]
        return [parse_rule(item, source=str(item.get("source", "api"))) for item in listed]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RulesCliError(f"{target} did not answer a list of rules: {exc}") from None


def listing() -> str:
    """The default rules and the signals, as two plain-text tables."""
    rules = [
        (
            rule.id,
            rule.signal,
            f"{rule.op.value} {prometheus_number(rule.threshold)}",
            format_duration(rule.window_s),
            format_duration(rule.for_s) if rule.for_s else "-",
            str(rule.severity),
            ",".join(rule.group_by) or "-",
        )
        for rule in DEFAULT_RULES
    ]
    signals = [
        (s.name, s.unit, format_duration(s.default_window_s), ",".join(s.group_by) or "-", s.description)
        for s in SIGNALS.values()
    ]
    return (
        "Default rules\n"
        + _table(("ID", "SIGNAL", "CONDITION", "WINDOW", "FOR", "SEVERITY", "GROUP BY"), rules)
        + "\nSignals\n"
        + _table(("NAME", "UNIT", "WINDOW", "GROUP BY", "DESCRIPTION"), signals)
    )


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    return "".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n"
        for row in [header, *rows]
    )
