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
    "web": {"otlp", "ingest", "store", "forward"},
    "demo": {"store", "ingest", "analytics", "web", "otlp", "auth", "directory", "alerts"},
    "onboarding": {"store", "ingest", "analytics", "web", "otlp", "auth", "directory", "alerts", "demo"},
    "pricing": {"store", "ingest", "analytics", "web", "otlp", "auth", "directory", "alerts", "demo", "imports"},
    "imports": {"otlp", "ingest", "analytics", "web", "auth", "alerts", "demo", "reports", "forward"},
    "forward": {"store", "ingest", "analytics", "web", "auth", "directory", "alerts", "demo", "imports", "reports"},
    "reports": {"otlp", "ingest", "web", "store", "demo", "imports", "forward"},
}


def _modules(path: Path) -> set[str]:
    """The modules a file imports (`from ccmon.imports import model` counts as `ccmon.imports.model`)."""
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.update(
                f"{node.module}.{alias.name}" if node.module == "ccmon.imports" else node.module for alias in node.names
            )
    return names


def _imports(path: Path) -> set[str]:
    """The `ccmon` packages a file imports."""
    return {n.split(".")[1] for n in _modules(path) if n.startswith("ccmon.")}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_point_downward(layer: str) -> None:
    files = sorted((PACKAGE / layer).rglob("*.py"))
    assert files
    for path in files:
        wrong = _imports(path) & FORBIDDEN[layer]
        assert not wrong, f"{path.relative_to(PACKAGE)} imports {sorted(wrong)}"


WEB_MAY_IMPORT_FROM_IMPORTS = {"ccmon.imports.model"}
"""The one module of `imports` the web layer may use: the others write to the store, which web must not reach."""


def test_web_reaches_imports_only_through_its_store_free_model() -> None:
    assert not _imports(PACKAGE / "imports" / "model.py"), "ccmon.imports.model must stay free of ccmon's layers"
    for path in sorted((PACKAGE / "web").rglob("*.py")):
        wrong = {n for n in _modules(path) if n.startswith("ccmon.imports")} - WEB_MAY_IMPORT_FROM_IMPORTS
        assert not wrong, f"{path.relative_to(PACKAGE)} imports {sorted(wrong)}"
