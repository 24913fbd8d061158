"""`ccmon doctor`: check this machine's Claude Code telemetry as Claude Code will see it, send a test signal, and say
how to fix what is wrong (`ccmon.onboarding.doctor` has the checks).

    ccmon doctor [--url API_URL] [--json] [--no-send] [--project DIR] [--token API_KEY]

One line per check (✓ ok, ! warning, ✗ failure, with the fix under it), then the effective settings and where each
comes from. Exit status 0 when nothing failed, 1 otherwise. `--json` prints one document:
`{"ok": bool, "checks": [{"name", "status", "message", "fix"}], "effective": {...}, ...}`. Header values (tokens) are
never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from ccmon.onboarding.doctor import FAIL, OK, WARN, DoctorOptions, Report, diagnose

MARKS = {OK: "✓", WARN: "!", FAIL: "✗"}


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        "doctor",
        help="check this machine's Claude Code telemetry settings and send a test signal to ccmon",
        description="Reads Claude Code's settings in its order of precedence (environment, user, project, managed), "
        "checks that they fit together and fit the server, sends one test signal with them and confirms it was "
        "stored. Each failed check says how to fix it.",
    )
    parser.add_argument("--url", help="the ccmon API (CCMON_URL; default: the OTLP endpoint's host on port 3000)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--no-send", action="store_true", help="check the settings only; send no test signal")
    parser.add_argument("--project", type=Path, help="the folder Claude Code starts in (default: this one)")
    parser.add_argument("--token", help="an API key for the server's details when it asks for one (CCMON_TOKEN)")
    parser.add_argument("--wait", type=float, default=10.0, help="seconds to wait for the test signal to be stored")
    return parser


def run(args: argparse.Namespace, *, stdout: TextIO | None = None, environ: Mapping[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    out = stdout or sys.stdout
    options = DoctorOptions(
        url=args.url,
        project=args.project,
        send=not args.no_send,
        api_token=args.token or env.get("CCMON_TOKEN") or None,
        wait_s=max(0.0, min(args.wait, 120.0)),
    )
    report = diagnose(env, options)
    if args.json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False), file=out)
    else:
        print(render(report), file=out)
    return 0 if report.ok else 1


def render(report: Report) -> str:
    """The report for a person: one line per check, its fix under it, then the effective settings."""
    lines = [f"ccmon doctor: Claude Code's telemetry on this machine (API {report.api_url})", ""]
    for check in report.checks:
        lines.append(f"{MARKS.get(check.status, '?')} {check.name}: {check.message}")
        if check.status != OK and check.fix:
            lines.append(f"    fix: {check.fix}")
    lines += ["", "Effective settings (highest-precedence source wins):"]
    for name, value in report.settings.values.items():
        if value.value is not None:
            lines.append(f"  {name}={value.shown()}  [{value.source}]")
        for source, why in value.unused:
            lines.append(f"  {name}: {why} [{source}]")
    helper = report.settings.headers_helper
    if helper.value is not None:
        lines.append(f"  otelHeadersHelper={helper.value}  [{helper.source}]")
    failed = sum(check.status == FAIL for check in report.checks)
    warned = sum(check.status == WARN for check in report.checks)
    lines += ["", "All checks passed." if not failed and not warned else f"{failed} failed, {warned} warnings."]
    return "\n".join(lines)
