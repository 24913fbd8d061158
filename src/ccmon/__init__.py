"""ccmon: a self-hosted monitor for Claude Code."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ccmon")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
