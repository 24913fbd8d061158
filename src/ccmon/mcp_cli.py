"""`ccmon mcp`: the MCP server (stdio) through which a developer asks Claude Code about their own usage
(`ccmon.onboarding.mcp_server`).

Add it to Claude Code once:

    claude mcp add ccmon -- ccmon mcp --url https://ccmon.example.com

Who is asking is found as the budget hook finds it (`ccmon.hook_cli`): the token is `--token`, `CCMON_TOKEN`, or the
ingest token in Claude Code's own settings (`OTEL_EXPORTER_OTLP_HEADERS`); the person `--person` / `CCMON_PERSON`,
else the login of `~/.claude.json`; the session `CLAUDE_CODE_SESSION_ID` when Claude Code sets it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ccmon.onboarding.caller import add_caller_arguments, api_url, given_token, named_person
from ccmon.onboarding.claude_files import claude_identity, find_token

if TYPE_CHECKING:
    from ccmon.onboarding.mcp_server import McpSettings

DEFAULT_TIMEOUT_S = 10.0


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        "mcp",
        help="an MCP server (stdio) for Claude Code: ask about your own usage, sessions and budgets",
        description="Serve the Model Context Protocol on stdin/stdout, for Claude Code (`claude mcp add ccmon -- "
        "ccmon mcp --url URL`). Read-only tools: my_usage, my_sessions, expensive_sessions, team_budget; each "
        "answers about the developer this token and identity name, and nobody else.",
    )
    add_caller_arguments(parser, person_help="who you are (default: the login of ~/.claude.json)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help=f"seconds to wait for ccmon per tool call ({DEFAULT_TIMEOUT_S:g})",
    )
    parser.add_argument("--verbose", action="store_true", help="log each call to stderr")
    return parser


def run(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> int:
    """Serve until Claude Code closes stdin. Returns the exit status."""
    env = os.environ if environ is None else environ
    # The SDK loads only here: the rest of the command line does not pay for it.
    from ccmon.onboarding.mcp_server import build_server

    settings = settings_from(args, env)
    server = build_server(settings)
    # After the SDK's own set-up (which configures the root logger): stderr only, quiet unless asked.
    logging.getLogger().setLevel(logging.INFO if args.verbose else logging.WARNING)
    print(f"ccmon mcp: serving on stdio, asking {settings.url}", file=sys.stderr)
    try:
        server.run("stdio")
    except KeyboardInterrupt:
        return 0
    return 0


def settings_from(args: argparse.Namespace, environ: Mapping[str, str]) -> McpSettings:
    """The server's settings from the command line, the environment and Claude Code's own files."""
    from ccmon.onboarding.mcp_server import McpSettings

    identity = dict(claude_identity(environ))
    if person := named_person(args, environ):
        identity["person"] = person
    if session := environ.get("CLAUDE_CODE_SESSION_ID", "").strip():
        identity["session_id"] = session
    timeout = args.timeout if args.timeout and args.timeout > 0 else DEFAULT_TIMEOUT_S
    return McpSettings(
        url=api_url(args, environ),
        token=given_token(args, environ) or find_token(environ),
        identity=identity,
        timeout_s=min(timeout, 60.0),
    )


def main(argv: list[str] | None = None) -> int:
    """`ccmon mcp ...` without loading the rest of the command line (`ccmon.cli` calls this first): Claude Code starts
    the server with each session, and an error elsewhere in the CLI must not stop it."""
    parser = argparse.ArgumentParser(prog="ccmon")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args(["mcp", *(sys.argv[1:] if argv is None else argv)]))
