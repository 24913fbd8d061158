"""The `ccmon` command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from ccmon import __version__
from ccmon.logs import configure_logging
from ccmon.settings import SETTINGS, ConfigError, load_config


def _parser() -> argparse.ArgumentParser:
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
    for setting in SETTINGS:
        serve.add_argument(
            setting.flag,
            dest=setting.name,
            default=None,
            metavar=setting.name.upper(),
            help=f"{setting.help} [env {setting.env}]",
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(vars(args))
    return 2


def _serve(args: dict[str, object]) -> int:
    from ccmon.server import Server  # imported here so `ccmon --help` stays fast
    from ccmon.store.facade import StoreError

    try:
        config_file = args.get("config")
        config = load_config(
            flags={s.name: args.get(s.name) for s in SETTINGS},
            config_file=config_file if isinstance(config_file, str) else None,
        )
        configure_logging(config.log_level, config.log_format)
        server = Server(config)
    except ConfigError as exc:
        print(f"ccmon: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(server.run())
    except (OSError, StoreError) as exc:
        print(f"ccmon: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
