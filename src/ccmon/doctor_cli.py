"""STUB: `ccmon doctor` (a helper fills this)."""

from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    return commands.add_parser("doctor", help="doctor")


def run(args: argparse.Namespace) -> int:
    return 2
