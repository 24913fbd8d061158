"""Layers import downward only: web/cli -> auth, alerts -> analytics -> directory -> store; otlp -> ingest ->
directory -> store; demo only speaks OTLP; onboarding (the developer's machine: Claude Code's files, `ccmon setup`,
`doctor`, `statusline`, `mcp`) stands alone, and talks to a server only over the network."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "src" / "ccmon"

FORBIDDEN = {
    "otlp": {"store", "analytics", "web", "auth", "alerts"},
    "ingest": {"otlp", "analytics", "web", "auth", "alerts"},
    "store": {"otlp", "ingest", "analytics", "web", "auth", "directory", "alerts"},
    "directory": {"otlp", "ingest", "analytics", "web", "auth", "alerts"},
    "analytics": {"otlp", "ingest", "web", "auth", "alerts"},
    "alerts": {"otlp", "ingest", "web", "auth"},
    "auth": {"otlp", "ingest", "web", "alerts"},
    "web": {"otlp", "ingest", "store"},
    "demo": {"store", "ingest", "analytics", "web", "otlp", "auth", "directory", "alerts"},
    "onboarding": {"store", "ingest", "analytics", "web", "otlp", "auth", "directory", "alerts", "demo"},
    "pricing": {"store", "ingest", "analytics", "web", "otlp", "auth", "directory", "alerts", "demo", "imports"},
    "imports": {"otlp", "ingest", "analytics", "web", "auth", "alerts", "demo", "reports", "forward"},
    "forward": {"store", "ingest", "analytics", "web", "auth", "directory", "alerts", "demo", "imports", "reports"},
    "reports": {"otlp", "ingest", "web", "store", "demo", "imports", "forward"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return {n.split(".")[1] for n in names if n.startswith("ccmon.") and n.count(".") >= 1}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_point_downward(layer: str) -> None:
    files = sorted((PACKAGE / layer).rglob("*.py"))
    assert files
    for path in files:
        wrong = _imports(path) & FORBIDDEN[layer]
        assert not wrong, f"{path.relative_to(PACKAGE)} imports {sorted(wrong)}"
