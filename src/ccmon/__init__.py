"""ccmon: a self-hosted monitor for Claude Code."""

from __future__ import annotations

import functools


def __getattr__(name: str) -> str:
    """`ccmon.__version__`, looked up in the package's metadata when first asked: `ccmon hook` and `ccmon statusline`
    run at every prompt and never ask, and the lookup costs them 25-70 ms of their start-up."""
    if name == "__version__":
        return _version()
    raise AttributeError(f"module 'ccmon' has no attribute {name!r}")


@functools.cache
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ccmon")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0.0.0"
