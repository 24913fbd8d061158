"""STUB: `ccmon statusline` (a helper fills this)."""

from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    return commands.add_parser("statusline", help="statusline")


def run(args: argparse.Namespace) -> int:
    return 2


def main(argv: list[str] | None = None) -> int:
    return 0
