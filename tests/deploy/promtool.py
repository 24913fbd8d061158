"""Prometheus's own checker, as tests/alerts/test_prometheus.py finds it: $CCMON_PROMTOOL, else `promtool` on the
PATH (scripts/test installs Debian's prometheus package for it)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """`promtool ARGS...`: its exit status and output (a test asserts on them)."""
    path = os.environ.get("CCMON_PROMTOOL") or shutil.which("promtool")
    assert path, "promtool not found: install Prometheus (apt-get install prometheus) or set CCMON_PROMTOOL"
    return subprocess.run([path, *map(str, args)], check=False, capture_output=True, text=True, timeout=120)
