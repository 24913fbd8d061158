"""Who a client command on a developer's machine asks as, and where: the `--url`, `--token` and `--person` flags of
`ccmon hook`, `ccmon statusline` and `ccmon mcp`, and the environment variables behind them.

- the API: `--url`, else `CCMON_URL`, else `ccmon serve`'s local default;
- the token: `--token`, else `CCMON_TOKEN`, else the ingest token Claude Code exports telemetry with
  (`claude_files.find_token`: Claude Code passes no `OTEL_*` variable to the commands it runs, so its settings files
  are read — which the status line leaves to its background refresh, to draw at once);
- the person: `--person`, else `CCMON_PERSON`, else nobody named (the server identifies the session, or the login in
  `~/.claude.json`, which the commands send as well).

Light to import: `ccmon statusline` loads it at every redraw.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

DEFAULT_URL = "http://127.0.0.1:3000"
"""`ccmon serve`'s API on this machine (what `ccmon report` and the client commands ask by default)."""


def add_caller_arguments(parser: argparse.ArgumentParser, *, person_help: str) -> None:
    """`--url`, `--token` and `--person`, the same in every client command."""
    parser.add_argument("--url", help=f"the ccmon API (CCMON_URL, default {DEFAULT_URL})")
    parser.add_argument("--token", help="ingest token or API key (CCMON_TOKEN, else the OTLP exporter's header)")
    parser.add_argument("--person", help=f"{person_help}: email or person key (CCMON_PERSON)")


def api_url(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    return str(args.url or environ.get("CCMON_URL") or DEFAULT_URL).rstrip("/")


def given_token(args: argparse.Namespace, environ: Mapping[str, str]) -> str | None:
    """The token the command was given (`--token`, `CCMON_TOKEN`); None: look for Claude Code's own
    (`claude_files.find_token`)."""
    return args.token or environ.get("CCMON_TOKEN") or None


def named_person(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    """The person the command was told to ask about; '' when none."""
    return str(args.person or environ.get("CCMON_PERSON") or "").strip()
