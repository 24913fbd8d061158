"""The `ccmon` command line."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence

from ccmon.text import plural


def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The top-level parser, and each command's own (whose usage its errors show)."""
    from ccmon import (
        __version__,
        directory_cli,
        doctor_cli,
        hook_cli,
        import_cli,
        mcp_cli,
        privacy_cli,
        rules_cli,
        setup_cli,
        statusline_cli,
        tokens_cli,
        users_cli,
    )
    from ccmon.analytics.timerange import DEFAULT_SPAN_TEXT
    from ccmon.onboarding.caller import DEFAULT_URL
    from ccmon.reports_cli import REPORTS as REPORT_KINDS
    from ccmon.settings import SETTINGS

    parser = argparse.ArgumentParser(prog="ccmon", description="A self-hosted monitor for Claude Code.")
    parser.add_argument("--version", action="version", version=f"ccmon {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="receive Claude Code's OTLP, store it and serve the API",
        description="Receive Claude Code's OpenTelemetry over OTLP/gRPC and OTLP/HTTP, store it in ClickHouse "
        "(embedded by default) and serve the API. Every flag can also be set as CCMON_<NAME> or in the TOML file.",
    )
    serve.add_argument("--config", help="TOML file with settings (also CCMON_CONFIG)")
    serve.add_argument(
        "--demo",
        action="store_true",
        help="when the store is empty, fill it with a demo organisation's last 30 days (see `ccmon demo`)",
    )
    for setting in SETTINGS:
        default = setting.default_text
        where = f"default {default}; env {setting.env}" if default is not None else f"env {setting.env}"
        serve.add_argument(
            setting.flag,
            dest=setting.name,
            default=None,
            metavar=setting.name.upper(),
            help=f"{setting.help} [{where}]".replace("%", "%%"),
        )
    demo = commands.add_parser(
        "demo",
        help="send a synthetic organisation's Claude Code telemetry to a running ccmon",
        description="Generate a made-up organisation's Claude Code usage (developers in teams, working hours, models, "
        "tools, rejections, API errors, commits and pull requests, delta and cumulative exporters) and send it as OTLP "
        "through the OpenTelemetry SDK exporters, like real data. The same seed gives the same data.",
    )
    demo.add_argument(
        "--endpoint", help="OTLP endpoint URL (default http://127.0.0.1:4317 for grpc, http://127.0.0.1:4318 for http)"
    )
    demo.add_argument("--protocol", choices=("grpc", "http/protobuf"), default="grpc", help="OTLP protocol (grpc)")
    demo.add_argument("--seed", type=int, default=1, help="random seed (1)")
    demo.add_argument("--developers", type=int, default=40, help="number of developers (40)")
    demo.add_argument("--teams", type=int, default=6, help="number of teams, at most 10, one per developer at most (6)")
    demo.add_argument("--days", type=int, default=30, help="days of history up to now (30)")
    demo.add_argument("--token", help="ingest token, sent as `Authorization: Bearer TOKEN`")
    demo.add_argument("--processes", type=int, help="worker processes (default: up to 4, one per CPU)")
    report = commands.add_parser(
        "report",
        help="print analytics as a table, JSON or CSV",
        description="Ask a running ccmon (or open a data folder) for a report and print it. Tables say which window "
        "they show.",
    )
    report.add_argument("kind", choices=sorted([*REPORT_KINDS, "weekly"]), help="which report")
    report.add_argument("--from", dest="start", help=f"RFC 3339 in UTC (default: {DEFAULT_SPAN_TEXT} before --to)")
    report.add_argument("--to", dest="end", help="RFC 3339 in UTC (default: now)")
    report.add_argument("--team", action="append", default=[], help="only this team (repeatable)")
    report.add_argument("--person", action="append", default=[], help="only this person (repeatable)")
    output = report.add_mutually_exclusive_group()
    output.add_argument("--json", dest="output", action="store_const", const="json", help="print JSON")
    output.add_argument("--csv", dest="output", action="store_const", const="csv", help="print CSV")
    report.add_argument("--url", default=DEFAULT_URL, help=f"the ccmon API ({DEFAULT_URL})")
    report.add_argument("--token", help="API token, if the server asks for one")
    report.add_argument("--data-dir", help="open this data folder instead of asking a server")
    weekly = report.add_argument_group("weekly", "`ccmon report weekly` (docs/reports.md)")
    weekly.add_argument("--week", help="ISO week (2026-W47) or a date in it (default: the last complete week)")
    weekly.add_argument("--format", choices=("markdown", "html", "slack", "json"), default="markdown")
    weekly.add_argument("--out", dest="out_file", help="write the report to this file instead of printing it")
    weekly.add_argument("--send", action="append", default=[], help="alert channel to send it to (repeatable)")
    weekly.add_argument("--config", help="TOML config file (for alerts_file and pricing_file)")
    tokens = tokens_cli.add_parser(commands)
    rules = rules_cli.add_parser(commands)
    access = users_cli.add_parsers(commands)
    access["forget"] = privacy_cli.add_parser(commands)
    access["directory"] = directory_cli.add_parser(commands)
    access["hook"] = hook_cli.add_parser(commands)
    access["setup"] = setup_cli.add_parser(commands)
    access["doctor"] = doctor_cli.add_parser(commands)
    access["statusline"] = statusline_cli.add_parser(commands)
    access["mcp"] = mcp_cli.add_parser(commands)
    access["import"] = import_cli.add_parser(commands)
    return parser, {"serve": serve, "demo": demo, "report": report, "tokens": tokens, "rules": rules, **access}


EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE
"""The status of a command killed by SIGPIPE, as a shell reports it."""


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["hook"]:
        # Claude Code runs the hook before every prompt: it loads only what it needs (0.2 s, not the 2 s of all).
        from ccmon import hook_cli

        return hook_cli.main(arguments[1:])
    if arguments[:1] == ["statusline"]:
        # Claude Code runs the status line command after every message, and it must draw at once: the same fast path.
        from ccmon import statusline_cli

        return statusline_cli.main(arguments[1:])
    if arguments[:1] == ["mcp"]:
        # Claude Code starts the MCP server with each session: it loads the SDK, not the server's modules.
        from ccmon import mcp_cli

        return mcp_cli.main(arguments[1:])
    from ccmon import directory_cli, doctor_cli, privacy_cli, rules_cli, setup_cli, tokens_cli, users_cli

    parser, commands = _parser()
    # A command's parser leaves what it does not know to the top-level one, whose error would show the top-level
    # usage: say it with the usage of the command instead.
    args, unknown = parser.parse_known_args(arguments)
    if unknown:
        commands[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        if args.command == "serve":
            return _serve(vars(args))
        if args.command == "demo":
            return _demo(args)
        if args.command == "report":
            return _report(args)
        if args.command == "tokens":
            return tokens_cli.run(args)
        if args.command in {"users", "api-keys"}:
            return users_cli.run(args)
        if args.command == "forget":
            return privacy_cli.main(args)
        if args.command == "directory":
            return directory_cli.run(args)
        if args.command == "rules":
            return rules_cli.run(args)
        if args.command == "setup":
            return setup_cli.run(args)
        if args.command == "doctor":
            return doctor_cli.run(args)
        if args.command == "import":
            from ccmon import import_cli

            return import_cli.run(args)
    except BrokenPipeError:
        # The reader of our output went away (`ccmon report ... | head`): stop quietly, as command-line tools do.
        # Python would otherwise complain again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return 2


def _serve(args: dict[str, object]) -> int:
    from ccmon.logs import configure_logging
    from ccmon.settings import SETTINGS, ConfigError, load_config

    try:
        config_file = args.get("config")
        config = load_config(
            flags={s.name: args.get(s.name) for s in SETTINGS},
            config_file=config_file if isinstance(config_file, str) else None,
        )
    except ConfigError as exc:  # said before the server's modules load, so a typo is answered at once
        print(f"ccmon: {exc}", file=sys.stderr)
        return 2
    from ccmon.server import Server  # imported here so `ccmon --help` stays fast
    from ccmon.store.facade import StoreError

    try:
        configure_logging(config.log_level, config.log_format)
        server = Server(config, demo=bool(args.get("demo")))
    except ConfigError as exc:
        print(f"ccmon: {exc}", file=sys.stderr)
        return 2
    import asyncio

    try:
        asyncio.run(server.run())
    except ConfigError as exc:  # found once the store is open (e.g. no login configured for a public address)
        print(f"ccmon: {exc}", file=sys.stderr)
        return 2
    except (OSError, StoreError) as exc:
        print(f"ccmon: {exc}", file=sys.stderr)
        return 1
    return 0


def _demo(args: argparse.Namespace) -> int:
    from ccmon import demo  # imported here so `ccmon --help` stays fast
    from ccmon.demo.org import TEAM_TEMPLATES, build_organisation

    problem = _demo_size_problem(args, len(TEAM_TEMPLATES))
    if problem:
        print(f"ccmon demo: {problem}", file=sys.stderr)
        return 2
    endpoint = args.endpoint or demo.DEFAULT_ENDPOINTS[args.protocol]
    teams = len(build_organisation(args.seed, args.developers, args.teams).teams)  # never more than developers
    print(
        f"ccmon demo: {plural(args.developers, 'developer')} in {plural(teams, 'team')}, {plural(args.days, 'day')}, "
        f"seed {args.seed}: sending to {endpoint} ({args.protocol})...",
        flush=True,
    )
    try:
        totals = demo.run(
            endpoint,
            args.protocol,
            seed=args.seed,
            developers=args.developers,
            teams=args.teams,
            days=args.days,
            token=args.token,
            processes=args.processes,
        )
    except ValueError as exc:
        print(f"ccmon demo: {exc}", file=sys.stderr)
        return 2
    except demo.DemoError as exc:
        print(f"ccmon demo: {exc}", file=sys.stderr)
        return 1
    print(totals.describe())
    return 0


def _demo_size_problem(args: argparse.Namespace, max_teams: int) -> str | None:
    for flag, value in (("--developers", args.developers), ("--teams", args.teams), ("--days", args.days)):
        if value < 1:
            return f"{flag} must be at least 1, not {value}"
    if args.teams > max_teams:
        return f"--teams: the demo has at most {max_teams} teams, not {args.teams}"
    if args.processes is not None and args.processes < 1:
        return f"--processes must be at least 1, not {args.processes}"
    return None


def _report(args: argparse.Namespace) -> int:
    from ccmon.reports_cli import ReportArgs, run, weekly

    return (weekly if args.kind == "weekly" else run)(
        ReportArgs(
            args.kind,
            start=args.start,
            end=args.end,
            teams=tuple(args.team),
            persons=tuple(args.person),
            output=args.output or "table",
            url=args.url,
            token=args.token,
            data_dir=args.data_dir,
            week=args.week,
            format=args.format,
            out_file=args.out_file,
            send=tuple(args.send),
            config_file=args.config,
        )
    )


if __name__ == "__main__":
    sys.exit(main())
